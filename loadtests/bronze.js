// The bronze tier: 50 virtual users, each doing the mix of lib/mix.js with a think time
// (a ramp to 50, then a hold). The goals, through Nginx on the 2-core machine:
// failed requests none at all, redirect p95 under 50 ms.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8000 loadtests/bronze.js
//   scripts/loadtest bronze          # against the native stack, summary to target/loadtest/
//
// VUS, RAMP [30s], HOLD [1m], THINK, LINKS, BASE_URL override (lib/mix.js).
import { action, common, rampAndHold, setup as createLinks, thresholds } from './lib/mix.js';

export const options = {
  ...common,
  scenarios: { bronze: rampAndHold(50, '30s', '1m') },
  thresholds: thresholds(0, 50),
};

export const setup = createLinks;

export default function (data) {
  action(data);
}
