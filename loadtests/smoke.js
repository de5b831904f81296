// The smoke tier: 2 virtual users for 15 s, the whole mix, no failure allowed. A quick
// proof that every endpoint of the mix answers before a bigger tier is started (and the
// tier scripts/test runs).
//
//   k6 run -e BASE_URL=http://127.0.0.1:8000 loadtests/smoke.js
import { action, common, setup as createLinks, thresholds } from './lib/mix.js';

export const options = {
  ...common,
  scenarios: {
    smoke: { executor: 'constant-vus', vus: Number(__ENV.VUS || 2), duration: __ENV.HOLD || '15s' },
  },
  thresholds: thresholds(0, 50),
};

export const setup = createLinks;

export default function (data) {
  action(data);
}
