//! A fault-injecting TCP proxy in front of a data store (in the spirit of crates.io's
//! chaosproxy): every chunk of every connection, both ways, can be delayed (latency),
//! held back as a lost TCP segment is until its retransmission (loss), or held for as
//! long as the link is cut (a black hole: the peer sees a connection that never answers,
//! as after a partition).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

/// The first retransmission of a lost segment comes after Linux's minimum RTO (200 ms);
/// each further loss of the same chunk doubles it.
const RETRANSMIT_AFTER: Duration = Duration::from_millis(200);

/// What the proxy does to the traffic now; changed while it runs.
#[derive(Default)]
struct Faults {
    latency_ms: AtomicU64,
    /// Loss per chunk and direction, in thousandths.
    loss_per_mille: AtomicU32,
    black_hole: AtomicBool,
    /// For a deterministic loss pattern without a random-number crate.
    chunks: AtomicU64,
}

/// A running proxy from a port of its own on 127.0.0.1 to `upstream`.
pub struct FaultProxy {
    pub addr: SocketAddr,
    faults: Arc<Faults>,
}

impl FaultProxy {
    pub fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind the proxy");
        let addr = listener.local_addr().unwrap();
        let faults = Arc::new(Faults::default());
        let shared = faults.clone();
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let faults = shared.clone();
                thread::spawn(move || relay(client, upstream, &faults));
            }
        });
        Self { addr, faults }
    }

    /// Clears every fault: traffic flows as without the proxy (held chunks go on).
    pub fn heal(&self) {
        self.set_latency(Duration::ZERO);
        self.set_loss_per_mille(0);
        self.faults.black_hole.store(false, Ordering::SeqCst);
    }

    /// Each chunk waits `latency` before it is passed on, both ways.
    pub fn set_latency(&self, latency: Duration) {
        self.faults
            .latency_ms
            .store(latency.as_millis() as u64, Ordering::SeqCst);
    }

    /// `per_mille` of the chunks are lost once (or more) and arrive after a retransmission.
    pub fn set_loss_per_mille(&self, per_mille: u32) {
        self.faults
            .loss_per_mille
            .store(per_mille.min(1000), Ordering::SeqCst);
    }

    /// Nothing passes either way until [`FaultProxy::heal`]; connections stay open.
    pub fn black_hole(&self) {
        self.faults.black_hole.store(true, Ordering::SeqCst);
    }
}

/// One client connection: a connection to the upstream and a pump each way.
fn relay(client: TcpStream, upstream: SocketAddr, faults: &Arc<Faults>) {
    let Ok(server) = TcpStream::connect(upstream) else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (Ok(client_read), Ok(server_read)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let up_faults = faults.clone();
    let up = thread::spawn(move || pump(client_read, server, &up_faults));
    pump(server_read, client, faults);
    let _ = up.join();
}

/// Copies `from` to `to` chunk by chunk, each chunk through the faults in force.
fn pump(mut from: TcpStream, mut to: TcpStream, faults: &Faults) {
    let mut buf = vec![0_u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        while faults.black_hole.load(Ordering::SeqCst) {
            thread::sleep(Duration::from_millis(10));
        }
        let latency = faults.latency_ms.load(Ordering::SeqCst);
        if latency > 0 {
            thread::sleep(Duration::from_millis(latency));
        }
        let mut backoff = RETRANSMIT_AFTER;
        while lost(faults) {
            thread::sleep(backoff);
            backoff *= 2;
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}

/// Whether this chunk is lost: every chunk whose running number falls in the first
/// `loss_per_mille` of each thousand, spread out by a multiplicative hash.
fn lost(faults: &Faults) -> bool {
    let per_mille = u64::from(faults.loss_per_mille.load(Ordering::SeqCst));
    if per_mille == 0 {
        return false;
    }
    let n = faults.chunks.fetch_add(1, Ordering::Relaxed);
    (n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) % 1000 < per_mille
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// An echo server on 127.0.0.1.
    fn echo() -> SocketAddr {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                thread::spawn(move || {
                    let mut read = stream.try_clone().unwrap();
                    let mut write = stream;
                    let _ = std::io::copy(&mut read, &mut write);
                });
            }
        });
        addr
    }

    fn round_trip(stream: &mut TcpStream, byte: u8) -> Duration {
        let started = Instant::now();
        stream.write_all(&[byte]).unwrap();
        let mut back = [0_u8; 1];
        stream.read_exact(&mut back).unwrap();
        assert_eq!(back[0], byte);
        started.elapsed()
    }

    #[test]
    fn the_proxy_passes_bytes_and_adds_latency_both_ways() {
        let proxy = FaultProxy::start(echo());
        let mut stream = TcpStream::connect(proxy.addr).unwrap();
        round_trip(&mut stream, 1);
        proxy.set_latency(Duration::from_millis(60));
        // 60 ms out and 60 ms back: at least 120 ms.
        assert!(round_trip(&mut stream, 2) >= Duration::from_millis(120));
        proxy.heal();
        round_trip(&mut stream, 3);
    }

    #[test]
    fn a_black_hole_holds_the_traffic_until_healed() {
        let proxy = FaultProxy::start(echo());
        let mut stream = TcpStream::connect(proxy.addr).unwrap();
        proxy.black_hole();
        stream.write_all(&[7]).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut back = [0_u8; 1];
        assert!(stream.read_exact(&mut back).is_err(), "nothing passes");
        proxy.heal();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream.read_exact(&mut back).unwrap();
        assert_eq!(back[0], 7, "the held byte arrives once healed");
    }

    #[test]
    fn loss_delays_about_the_share_of_chunks_asked_for() {
        let proxy = FaultProxy::start(echo());
        proxy.set_loss_per_mille(100);
        let lost_chunks = (0..10_000).filter(|_| lost(&proxy.faults)).count();
        assert!(
            (800..1200).contains(&lost_chunks),
            "10% of 10,000 chunks, not {lost_chunks}"
        );
    }
}
