#!/usr/bin/env node
// A verifier outside the federation: checks a Rightsnet credential with Digital Bazaar's
// libraries only. It verifies the credential's eddsa-jcs-2022 proof (@digitalbazaar/vc with
// @digitalbazaar/data-integrity), then every BitstringStatusListEntry of its credentialStatus
// with @digitalbazaar/vc-bitstring-status-list's checkStatus, which loads the list credential,
// verifies its proof and that its issuer is the credential's issuer, and reads the bit.
//
//   node check-status.mjs CREDENTIAL.json NODE_URL
//
// NODE_URL is the node's base URL; it must be on this machine (127.0.0.1, ::1 or localhost).
// JSON-LD contexts come from the installed context packages and did:key documents are derived
// from the key itself, so the only URLs fetched are status lists under NODE_URL. Prints one JSON
// object: {"verified", "statuses": {"revocation": bool, "suspension": bool}, "error"?}.
// Exit codes: 0 verified and no status set; 1 verified, but revoked or suspended; 2 usage;
// 3 not verified (the credential's proof, a list's proof, issuers that differ, a list that cannot
// be loaded or decoded).
import {readFile} from 'node:fs/promises';

import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import * as bitstringStatusList from '@digitalbazaar/vc-bitstring-status-list';
import * as vc from '@digitalbazaar/vc';
import {contexts as credentialsContexts} from '@digitalbazaar/credentials-context';
import {contexts as dataIntegrityContexts} from '@digitalbazaar/data-integrity-context';
import {contexts as didContexts} from 'did-context';
import {contexts as multikeyContexts} from '@digitalbazaar/multikey-context';
import {contexts as statusListContexts} from
  '@digitalbazaar/vc-bitstring-status-list-context';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {createVerifyCryptosuite} from
  '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import {driver as didKeyDriver} from '@digitalbazaar/did-method-key';

/** Largest status list credential fetched, in bytes. */
const MAX_LIST_BYTES = 1024 * 1024;
/** Longest wait for a status list, in milliseconds. */
const FETCH_TIMEOUT_MS = 10_000;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

function usage(message) {
  process.stderr.write(`${message}\nusage: node check-status.mjs CREDENTIAL.json NODE_URL\n`);
  process.exit(2);
}

const [credentialPath, nodeUrl] = process.argv.slice(2);
if(!credentialPath || !nodeUrl || process.argv.length !== 4) {
  usage('expected two arguments');
}
let base;
try {
  base = new URL(nodeUrl);
} catch {
  usage(`not a URL: ${nodeUrl}`);
}
if(!['http:', 'https:'].includes(base.protocol) || !LOOPBACK_HOSTS.has(base.hostname)) {
  usage(`the node must be on this machine (127.0.0.1, ::1 or localhost): ${nodeUrl}`);
}
const basePrefix = base.href.replace(/\/+$/, '') + '/';

let credential;
try {
  credential = JSON.parse(await readFile(credentialPath, 'utf8'));
} catch(error) {
  usage(`cannot read the credential ${credentialPath}: ${error.message}`);
}

const contexts = new Map([
  ...credentialsContexts, ...dataIntegrityContexts, ...didContexts,
  ...multikeyContexts, ...statusListContexts
]);

const didKey = didKeyDriver();
didKey.use({multibaseMultikeyHeader: 'z6Mk', fromMultibase: Ed25519Multikey.from});

/** Loads a status list from the node, bounded in size and time. */
async function fetchList(url) {
  const response = await fetch(url, {
    headers: {accept: 'application/json'},
    redirect: 'error',
    signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
  });
  if(!response.ok) {
    throw new Error(`GET ${url}: HTTP ${response.status}`);
  }
  const length = Number(response.headers.get('content-length') ?? 0);
  if(length > MAX_LIST_BYTES) {
    throw new Error(`GET ${url}: ${length} bytes, more than ${MAX_LIST_BYTES}`);
  }
  const text = await response.text();
  if(text.length > MAX_LIST_BYTES) {
    throw new Error(`GET ${url}: more than ${MAX_LIST_BYTES} bytes`);
  }
  return JSON.parse(text);
}

/** Contexts from the installed packages, did:key from the key, lists from the node only. */
async function documentLoader(url) {
  if(contexts.has(url)) {
    return {contextUrl: null, documentUrl: url, document: contexts.get(url)};
  }
  if(url.startsWith('did:key:')) {
    const document = await didKey.get({url});
    return {contextUrl: null, documentUrl: url, document};
  }
  if(url.startsWith(basePrefix)) {
    return {contextUrl: null, documentUrl: url, document: await fetchList(url)};
  }
  throw new Error(`refusing to load ${url}: only the node at ${basePrefix} is fetched`);
}

const suite = new DataIntegrityProof({cryptosuite: createVerifyCryptosuite()});

const checkStatus = options => bitstringStatusList.checkStatus({
  ...options,
  verifyBitstringStatusListCredential: true,
  verifyMatchingIssuers: true,
});

const report = {verified: false, statuses: {}};
try {
  const result = await vc.verifyCredential({
    credential, suite, documentLoader, checkStatus
  });
  const statusResult = result.statusResult ?? {verified: false, results: []};
  for(const {credentialStatus, status} of statusResult.results ?? []) {
    if(credentialStatus?.statusPurpose) {
      report.statuses[credentialStatus.statusPurpose] = status === true;
    }
  }
  report.verified = result.verified === true && statusResult.verified === true;
  if(!credential.credentialStatus) {
    report.verified = false;
    report.error = 'the credential has no credentialStatus';
  } else if(!report.verified) {
    const errors = [
      result.error, statusResult.error,
      ...(result.results ?? []).map(entry => entry.error)
    ].filter(Boolean);
    report.error = errors.map(error => error.message ?? String(error)).join('; ') ||
      'not verified';
  }
} catch(error) {
  report.error = error.message ?? String(error);
}
process.stdout.write(JSON.stringify(report) + '\n');
if(!report.verified) {
  process.exit(3);
}
process.exit(Object.values(report.statuses).some(Boolean) ? 1 : 0);
