// The spike tier: a quiet 20 users, a jump to 500 within 10 s, a minute there, and back
// down. Nothing may fail (under 0.1%), and the redirect's p95 over the whole run stays
// under 100 ms: the replicas absorb a sudden crowd without queueing it.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8000 loadtests/spike.js
// PEAK [500] and HOLD [1m] override; THINK, LINKS, BASE_URL as in lib/mix.js.
import { action, common, setup as createLinks, thresholds } from './lib/mix.js';

const PEAK = Number(__ENV.PEAK || 500);

export const options = {
  ...common,
  scenarios: {
    spike: {
      executor: 'ramping-vus',
      startVUs: 20,
      stages: [
        { duration: '20s', target: 20 },
        { duration: '10s', target: PEAK },
        { duration: __ENV.HOLD || '1m', target: PEAK },
        { duration: '10s', target: 20 },
        { duration: '20s', target: 20 },
      ],
      gracefulRampDown: '10s',
    },
  },
  thresholds: thresholds(0.001, 100),
};

export const setup = createLinks;

export default function (data) {
  action(data);
}
