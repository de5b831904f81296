// The soak tier: a steady 100 users for a long time (HOLD, default 30m; scripts/test runs
// a 60 s version). Its threshold is the bronze tier's; that memory stays flat is checked
// by scripts/loadtest, which reads each replica's resident memory before and after.
//
//   k6 run -e BASE_URL=http://127.0.0.1:8000 -e HOLD=30m loadtests/soak.js
import { action, common, rampAndHold, setup as createLinks, thresholds } from './lib/mix.js';

export const options = {
  ...common,
  scenarios: { soak: rampAndHold(100, '30s', '30m') },
  thresholds: thresholds(0, 50),
};

export const setup = createLinks;

export default function (data) {
  action(data);
}
