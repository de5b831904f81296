// The stress tier: the mix at an arrival rate that climbs (from 100 to MAX_RATE user
// actions per second over RAMP, default 5000/s over 4m) until a threshold breaks: more
// than 1% failed, or a redirect p95 over 100 ms. Then the run stops, and the rate it had
// reached is the breaking point: `stress_offered_rate` in the summary (its last value),
// printed by scripts/loadtest. A run that never breaks reports the top rate reached.
//
// The thresholds are evaluated over the run so far, so the break shows a little after
// the capacity is passed: read the figure as an upper bound.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8000 loadtests/stress.js
import exec from 'k6/execution';
import { Gauge } from 'k6/metrics';
import { action, common, setup as createLinks } from './lib/mix.js';

const START = 100;
const MAX_RATE = Number(__ENV.MAX_RATE || 5000);
const offered = new Gauge('stress_offered_rate');

export const options = {
  ...common,
  scenarios: {
    stress: {
      executor: 'ramping-arrival-rate',
      startRate: START,
      timeUnit: '1s',
      preAllocatedVUs: 200,
      maxVUs: Number(__ENV.MAX_VUS || 2000),
      stages: [{ duration: __ENV.RAMP || '4m', target: MAX_RATE }],
    },
  },
  thresholds: {
    http_req_failed: [{ threshold: 'rate<0.01', abortOnFail: true, delayAbortEval: '10s' }],
    'http_req_duration{kind:redirect}': [{ threshold: 'p(95)<100', abortOnFail: true, delayAbortEval: '10s' }],
    // Never crossed: they only put each kind's latency in the summary.
    'http_req_duration{kind:list}': ['max>=0'],
    'http_req_duration{kind:create}': ['max>=0'],
    'http_req_duration{kind:stats}': ['max>=0'],
    'http_req_duration{kind:health}': ['max>=0'],
  },
};

export const setup = createLinks;

export default function (data) {
  offered.add(START + (MAX_RATE - START) * exec.scenario.progress);
  // Arrivals, not users: each iteration is one action with no think time.
  action(data, 0);
}
