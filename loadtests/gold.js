// The gold tier: 500 virtual users, each doing the mix of lib/mix.js with a think time
// (a ramp to 500, then a hold). The goals, through Nginx on the 2-core machine:
// failed requests under 0.1%, redirect p95 under 100 ms.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8000 loadtests/gold.js
//   scripts/loadtest gold          # against the native stack, summary to target/loadtest/
//
// VUS, RAMP [1m], HOLD [3m], THINK, LINKS, BASE_URL override (lib/mix.js).
import { action, common, rampAndHold, setup as createLinks, thresholds } from './lib/mix.js';

export const options = {
  ...common,
  scenarios: { gold: rampAndHold(500, '1m', '3m') },
  thresholds: thresholds(0.001, 100),
};

export const setup = createLinks;

export default function (data) {
  action(data);
}
