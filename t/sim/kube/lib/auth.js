'use strict';
// Authentication by bearer token and a small RBAC-style authoriser.
//
// Modelled behaviour (notes §8, §3.2, §4.4; apiserver
// pkg/authentication/request/bearertoken, pkg/endpoints/handlers/
// responsewriters/errors.go):
// - "Authorization: Bearer <token>" (scheme case-insensitive). A known,
//   unexpired token authenticates as its user.
// - An unknown, expired or revoked token fails with 401 even though
//   anonymous access is on: the token authenticator's error wins.
// - No credentials at all (or an empty bearer token) is the anonymous user
//   system:anonymous, who may read only /version and the health endpoints,
//   so every API call answers 403 (anonymous auth is on by default, §8).
//   With anonymous auth switched off, such requests get 401.
// - A token may carry RBAC-like rules; requests outside them get 403 with
//   the real message: User "u" cannot <verb> resource "<res>" in API group
//   "<group>" in the namespace "<ns>".

const fs = require('fs');

const PUBLIC_PATHS = new Set(['/version', '/version/', '/healthz', '/livez', '/readyz']);
const DEFAULT_USER = 'system:serviceaccount:default:default';

// Parse one CSV line of a kube-apiserver --token-auth-file:
// token,user,uid,"group1,group2"
function parseCsvLine(line) {
  const out = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') { cur += '"'; i++; } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { out.push(cur); cur = ''; } else cur += c;
  }
  out.push(cur);
  return out.map((s) => s.trim());
}

class Auth {
  constructor() {
    this.tokens = new Map();
    this.anonymous = true;
    this.initial = [];
  }

  // Register a token. Returns the stored record.
  add({ token, user, uid, groups, rules, expiresAt }) {
    if (!token || typeof token !== 'string') throw new Error('token must be a non-empty string');
    const rec = {
      token, user: user || DEFAULT_USER, uid: uid || '',
      groups: groups || ['system:authenticated'], rules: rules || null,
      expiresAt: expiresAt || null, expired: false,
    };
    this.tokens.set(token, rec);
    return rec;
  }

  // --token TOKEN[,USER] from the command line.
  addFlag(spec) {
    const [token, user] = spec.split(',', 2);
    this.initial.push({ token, user });
    return this.add({ token, user });
  }

  loadFile(path) {
    for (const raw of fs.readFileSync(path, 'utf8').split('\n')) {
      const line = raw.trim();
      if (!line || line.startsWith('#')) continue;
      const [token, user, uid, groups] = parseCsvLine(line);
      if (!token || !user) throw new Error(`${path}: each line needs at least token,user: ${line}`);
      const rec = { token, user, uid, groups: groups ? groups.split(',').map((g) => g.trim()).filter(Boolean) : undefined };
      this.initial.push(rec);
      this.add(rec);
    }
  }

  // Back to the tokens given at start-up.
  reset() {
    this.tokens.clear();
    this.anonymous = true;
    for (const t of this.initial) this.add(t);
  }

  get(token) { return this.tokens.get(token); }

  revoke(token) { return this.tokens.delete(token); }

  expire(token) {
    const rec = this.tokens.get(token);
    if (rec) rec.expired = true;
    return rec;
  }

  // Returns { user, groups, token } for an authenticated caller, the
  // anonymous identity when no credentials were sent, or null for a failed
  // authentication (the caller answers 401).
  authenticate(req) {
    const header = (req.headers.authorization || '').trim();
    const parts = header.split(' ');
    if (!header || parts.length < 2 || parts[0].toLowerCase() !== 'bearer' || parts[1] === '') {
      return this.anonymous
        ? { user: 'system:anonymous', groups: ['system:unauthenticated'], token: null, anonymous: true }
        : null;
    }
    const rec = this.tokens.get(parts[1]);
    if (!rec || rec.expired || (rec.expiresAt && Date.now() >= rec.expiresAt)) return null;
    return { user: rec.user, groups: rec.groups, token: rec.token, rules: rec.rules, anonymous: false };
  }

  // null when allowed, else the forbidden message (without the resource
  // prefix, which the caller adds as errors.NewForbidden does).
  authorize(who, a) {
    if (!a.isResource) {
      if (PUBLIC_PATHS.has(a.path) || !who.anonymous) return null;
      return `User "${who.user}" cannot ${a.verb} path "${a.path}"`;
    }
    if (!who.anonymous && (!who.rules || who.rules.some((r) => ruleAllows(r, a)))) return null;
    const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
    if (a.namespace) {
      return `User "${who.user}" cannot ${a.verb} resource "${res}" in API group "${a.apiGroup}" in the namespace "${a.namespace}"`;
    }
    return `User "${who.user}" cannot ${a.verb} resource "${res}" in API group "${a.apiGroup}" at the cluster scope`;
  }

  list() {
    return [...this.tokens.values()].map((t) => ({ ...t }));
  }
}

const has = (list, v) => list.includes('*') || list.includes(v);

// rbac.PolicyRule matching; apiGroups may be omitted to mean any group.
function ruleAllows(rule, a) {
  if (!has(rule.verbs || [], a.verb)) return false;
  if (rule.apiGroups && !has(rule.apiGroups, a.apiGroup)) return false;
  const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const resources = rule.resources || [];
  const resOk = resources.includes('*') || resources.includes(res) ||
    (a.subresource && resources.includes(`${a.resource}/*`)) || (a.subresource && resources.includes(`*/${a.subresource}`));
  if (!resOk) return false;
  if (rule.resourceNames && rule.resourceNames.length) return !!a.name && rule.resourceNames.includes(a.name);
  return true;
}

// Validate rules supplied through the admin API.
function checkRules(rules) {
  if (rules === null) return null;
  if (!Array.isArray(rules)) throw new Error('rules must be an array or null');
  for (const r of rules) {
    if (!r || !Array.isArray(r.verbs) || !Array.isArray(r.resources)) {
      throw new Error('each rule needs "verbs" and "resources" arrays');
    }
  }
  return rules;
}

module.exports = { Auth, checkRules, DEFAULT_USER };
