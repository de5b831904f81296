// The mixed load of a busy shortener, shared by every tier. Each iteration is one user
// action, then a think time:
//   80% follow a link (GET /{code}; redirects are not followed: the 302 is the answer)
//    8% list links       (GET /urls?per_page=20)
//    5% shorten a URL    (POST /urls)
//    4% read a link's stats (GET /urls/{id}/stats)
//    3% check health     (GET /live: /health and /ready are not public)
// The links followed and read are created in setup() (LINKS of them, default 200).
//
// Every response is checked; every request is tagged `kind` (redirect, list, create,
// stats, health) so thresholds and summaries are per kind.
//
// Environment (all optional): BASE_URL [http://127.0.0.1:8000], LINKS [200],
// THINK [1]: mean think time in seconds, drawn uniformly from 0.5x to 1.5x (0: none).
import http from 'k6/http';
import { check, sleep } from 'k6';

export const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:8000').replace(/\/$/, '');
const LINKS = Number(__ENV.LINKS || 200);
const THINK = Number(__ENV.THINK === undefined ? 1 : __ENV.THINK);

// API_KEY: the Bearer token when the service has API keys (scripts/loadtest passes the
// stack's); empty against an open development instance.
const AUTH_HEADERS = __ENV.API_KEY ? { Authorization: `Bearer ${__ENV.API_KEY}` } : {};
const JSON_HEADERS = Object.assign({ 'Content-Type': 'application/json' }, AUTH_HEADERS);

// The options every tier shares: no redirects followed, per-kind trends in the summary.
export const common = {
  maxRedirects: 0,
  summaryTrendStats: ['med', 'p(95)', 'p(99)', 'max'],
  setupTimeout: '120s',
};

// Thresholds for one tier: failed requests below `failedRate` (0: none at all) and the
// redirect's p95 below `redirectP95` ms; the other kinds get 10x the redirect's budget.
export function thresholds(failedRate, redirectP95) {
  const failed = failedRate === 0 ? 'rate==0' : `rate<${failedRate}`;
  const rest = `p(95)<${redirectP95 * 10}`;
  return {
    http_req_failed: [failed],
    checks: [failedRate === 0 ? 'rate==1' : `rate>${1 - failedRate}`],
    'http_req_duration{kind:redirect}': [`p(95)<${redirectP95}`],
    'http_req_duration{kind:list}': [rest],
    'http_req_duration{kind:create}': [rest],
    'http_req_duration{kind:stats}': [rest],
    'http_req_duration{kind:health}': [rest],
  };
}

// A ramp to `vus`, then a hold: RAMP and HOLD override the durations, VUS the target.
export function rampAndHold(vus, ramp, hold) {
  const target = Number(__ENV.VUS || vus);
  return {
    executor: 'ramping-vus',
    startVUs: 0,
    stages: [
      { duration: __ENV.RAMP || ramp, target },
      { duration: __ENV.HOLD || hold, target },
    ],
    gracefulRampDown: '10s',
  };
}

// Creates the links the mix follows.
export function setup() {
  const links = [];
  for (let i = 0; i < LINKS; i++) {
    const body = JSON.stringify({ original_url: `https://example.com/load/${Date.now()}/${i}` });
    const response = http.post(`${BASE_URL}/urls`, body, { headers: JSON_HEADERS, tags: { kind: 'setup' } });
    if (!check(response, { 'setup: link created (201)': (r) => r.status === 201 })) {
      throw new Error(`setup: POST /urls answered ${response.status}: ${response.body}`);
    }
    links.push({ id: response.json('id'), code: response.json('short_code') });
  }
  return { links };
}

function pick(links) {
  return links[Math.floor(Math.random() * links.length)];
}

function isJson(response) {
  return String(response.headers['Content-Type'] || '').startsWith('application/json');
}

// One user action from the mix, then `think` seconds on average (THINK by default).
export function action(data, think = THINK) {
  const roll = Math.random();
  if (roll < 0.8) {
    const link = pick(data.links);
    const response = http.get(`${BASE_URL}/${link.code}`, {
      headers: { Referer: `https://ref.example/${Math.floor(roll * 10)}` },
      tags: { kind: 'redirect', name: 'GET /{code}' },
    });
    check(response, {
      'redirect: 302': (r) => r.status === 302,
      'redirect: Location set': (r) => Boolean(r.headers.Location),
    });
  } else if (roll < 0.88) {
    const response = http.get(`${BASE_URL}/urls?per_page=20`, { headers: AUTH_HEADERS, tags: { kind: 'list', name: 'GET /urls' } });
    check(response, {
      'list: 200': (r) => r.status === 200,
      'list: JSON array': (r) => isJson(r) && Array.isArray(r.json()),
    });
  } else if (roll < 0.93) {
    const body = JSON.stringify({ original_url: `https://example.com/new/${__VU}/${__ITER}/${Date.now()}` });
    const response = http.post(`${BASE_URL}/urls`, body, {
      headers: JSON_HEADERS,
      tags: { kind: 'create', name: 'POST /urls' },
    });
    check(response, {
      'create: 201': (r) => r.status === 201,
      'create: short code returned': (r) => isJson(r) && Boolean(r.json('short_code')),
    });
  } else if (roll < 0.97) {
    const link = pick(data.links);
    const response = http.get(`${BASE_URL}/urls/${link.id}/stats`, { headers: AUTH_HEADERS, tags: { kind: 'stats', name: 'GET /urls/{id}/stats' } });
    check(response, {
      'stats: 200': (r) => r.status === 200,
      'stats: JSON': (r) => isJson(r),
    });
  } else {
    // /health and /ready are not public (docs/security.md, "The edge"): a client's
    // health check through the entry is /live.
    const response = http.get(`${BASE_URL}/live`, { tags: { kind: 'health', name: 'GET /live' } });
    check(response, { 'health: 200': (r) => r.status === 200 });
  }
  if (think > 0) {
    sleep(think * (0.5 + Math.random()));
  }
}
