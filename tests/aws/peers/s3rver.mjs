// Runs s3rver (npm) on a free port of 127.0.0.1 with the buckets
// "muster-test" and "muster-bench", storing objects in the directory given as
// argv[2], behind a front on another free port that verifies Signature
// Version 4 with AWS's own JavaScript signer (@smithy/signature-v4):
// s3rver 3.x checks the access key of a V4 request but not its signature.
// The front answers like S3 (SignatureDoesNotMatch, InvalidAccessKeyId,
// XAmzContentSHA256Mismatch, AccessDenied for unsigned or expired requests)
// and passes verified requests on unchanged.
//
// Prints "listening PORT" (the front's port); exits when stdin closes (the
// test that started it is gone). With "--direct" as argv[3] there is no front
// and PORT is s3rver's own (the benchmark measures clients, not the verifier).
import crypto from 'node:crypto';
import http from 'node:http';
import S3rver from 's3rver';
import { SignatureV4 } from '@smithy/signature-v4';

const secrets = { S3RVER: 'S3RVER' };

class Sha256 {
    constructor(secret) {
        this.hash = secret ? crypto.createHmac('sha256', secret) : crypto.createHash('sha256');
    }
    update(data) { this.hash.update(data); }
    async digest() { return new Uint8Array(this.hash.digest()); }
}

const s3rver = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory: process.argv[2],
    configureBuckets: [{ name: 'muster-test' }, { name: 'muster-bench' }],
});
const { port: backPort } = await s3rver.run();
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
if (process.argv[3] === '--direct') {
    process.stdout.write(`listening ${backPort}\n`);
} else {
    startFront();
}

class Refusal extends Error {
    constructor(status, code, message) {
        super(message);
        this.status = status;
        this.code = code;
    }
}

const decode = (s) => decodeURIComponent(s);

function parseQuery(raw) {
    const query = {};
    for (const part of raw ? raw.split('&') : []) {
        if (!part) continue;
        const eq = part.indexOf('=');
        const key = decode(eq < 0 ? part : part.slice(0, eq));
        const value = eq < 0 ? '' : decode(part.slice(eq + 1));
        query[key] = key in query ? [].concat(query[key], value) : value;
    }
    return query;
}

function amzDate(text) {
    const m = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/.exec(text ?? '');
    if (!m) throw new Refusal(403, 'AccessDenied', 'X-Amz-Date is missing or malformed');
    return new Date(Date.UTC(m[1], m[2] - 1, m[3], m[4], m[5], m[6]));
}

function signerFor(credential, token) {
    const [accessKeyId, , region, service] = credential.split('/');
    const secretAccessKey = secrets[accessKeyId];
    if (!secretAccessKey) {
        throw new Refusal(403, 'InvalidAccessKeyId',
            'The AWS Access Key Id you provided does not exist in our records.');
    }
    return new SignatureV4({
        credentials: { accessKeyId, secretAccessKey, sessionToken: token || undefined },
        region, service, sha256: Sha256, uriEscapePath: false, applyChecksum: false,
    });
}

function pick(headers, names) {
    const out = {};
    for (const name of names) out[name] = headers[name] ?? '';
    return out;
}

async function verify(req, body) {
    const at = req.url.indexOf('?');
    const path = at < 0 ? req.url : req.url.slice(0, at);
    const query = parseQuery(at < 0 ? '' : req.url.slice(at + 1));
    const [hostname, port] = (req.headers.host ?? '').split(':');
    const auth = req.headers.authorization;
    if (auth) {
        const m = /^AWS4-HMAC-SHA256 Credential=([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/
            .exec(auth);
        if (!m) throw new Refusal(400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed');
        const payload = req.headers['x-amz-content-sha256'];
        if (!payload) throw new Refusal(400, 'InvalidRequest', 'Missing required header x-amz-content-sha256');
        if (payload !== 'UNSIGNED-PAYLOAD' &&
            crypto.createHash('sha256').update(body).digest('hex') !== payload) {
            throw new Refusal(400, 'XAmzContentSHA256Mismatch',
                "The provided 'x-amz-content-sha256' header does not match what was computed.");
        }
        const signer = signerFor(m[1], req.headers['x-amz-security-token']);
        const signed = await signer.sign({
            method: req.method, protocol: 'http:', hostname, port: port ? Number(port) : undefined,
            path, query, headers: pick(req.headers, m[2].split(';')),
        }, { signingDate: amzDate(req.headers['x-amz-date']) });
        if (!signed.headers.authorization.endsWith(`Signature=${m[3]}`)) {
            throw new Refusal(403, 'SignatureDoesNotMatch',
                'The request signature we calculated does not match the signature you provided.');
        }
        return;
    }
    if ('X-Amz-Algorithm' in query) {
        const date = amzDate(query['X-Amz-Date']);
        const expires = Number(query['X-Amz-Expires']);
        if (Date.now() > date.getTime() + expires * 1000)
            throw new Refusal(403, 'AccessDenied', 'Request has expired');
        const rest = {};
        for (const [k, v] of Object.entries(query)) if (!k.startsWith('X-Amz-')) rest[k] = v;
        const signer = signerFor(query['X-Amz-Credential'], query['X-Amz-Security-Token']);
        const hidden = new Set(['x-amz-content-sha256']);
        const headers = pick(req.headers, query['X-Amz-SignedHeaders'].split(';'));
        headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
        const presigned = await signer.presign({
            method: req.method, protocol: 'http:', hostname, port: port ? Number(port) : undefined,
            path, query: rest, headers,
        }, { signingDate: date, expiresIn: expires, unsignableHeaders: hidden, unhoistableHeaders: hidden });
        if (presigned.query['X-Amz-Signature'] !== query['X-Amz-Signature']) {
            throw new Refusal(403, 'SignatureDoesNotMatch',
                'The request signature we calculated does not match the signature you provided.');
        }
        return;
    }
    throw new Refusal(403, 'AccessDenied', 'Anonymous access is not allowed here');
}

function startFront() {
    const front = http.createServer((req, res) => {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', async () => {
            const body = Buffer.concat(chunks);
            try {
                await verify(req, body);
            } catch (e) {
                const status = e instanceof Refusal ? e.status : 400;
                const code = e instanceof Refusal ? e.code : 'InvalidRequest';
                res.writeHead(status, { 'Content-Type': 'application/xml', 'x-amz-request-id': 'verifier' });
                res.end(req.method === 'HEAD' ? undefined :
                    '<?xml version="1.0" encoding="UTF-8"?>\n' +
                    `<Error><Code>${code}</Code><Message>${e.message}</Message>` +
                    '<RequestId>verifier</RequestId></Error>');
                return;
            }
            const back = http.request({
                host: '127.0.0.1', port: backPort, method: req.method, path: req.url, headers: req.headers,
            }, (answer) => {
                res.writeHead(answer.statusCode, answer.headers);
                answer.pipe(res);
            });
            back.on('error', () => res.destroy());
            back.end(body);
        });
    });
    front.keepAliveTimeout = 30000;
    front.listen(0, '127.0.0.1', () => {
        process.stdout.write(`listening ${front.address().port}\n`);
    });
}
