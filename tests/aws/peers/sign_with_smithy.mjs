// Signs generated requests with AWS's own JavaScript signer
// (@smithy/signature-v4) at a fixed time with dummy credentials, and prints
// them with their Authorization header (and, for body-less ones, a presigned
// URL) as one JSON array, for muster's signer to be compared with.
//
// Usage: node sign_with_smithy.mjs COUNT [SEED]
import crypto from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';

// SHA-256 and HMAC-SHA256 from Node, in the shape the signer takes.
class Sha256 {
    constructor(secret) {
        this.hash = secret ? crypto.createHmac('sha256', secret) : crypto.createHash('sha256');
    }
    update(data) { this.hash.update(data); }
    async digest() { return new Uint8Array(this.hash.digest()); }
}
// RFC 3986 percent-encoding, to build the URLs as they go on the wire.
const escapeUri = (s) => encodeURIComponent(s).replace(/[!'()*]/g,
    (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
const HttpRequest = function (fields) { return { ...fields }; };

const count = Number(process.argv[2] ?? '100');
let seed = Number(process.argv[3] ?? '20150830');
// A small deterministic generator (mulberry32), so failures reproduce.
function random() {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (list) => list[Math.floor(random() * list.length)];
const pieces = ['a', 'Z', '0', '-', '_', '.', '~', ' ', '+', '=', '&', '%', '!', '*', "'", '(',
    ')', '@', ':', ',', ';', '$', 'é', 'ሴ', '😀', 'key', 'photos', 'x y'];
const word = (max) => {
    let s = '';
    const n = 1 + Math.floor(random() * max);
    for (let i = 0; i < n; ++i) s += pick(pieces);
    return s;
};

const time = new Date('2024-05-17T08:09:10Z');
const credentials = { accessKeyId: 'AKIDMUSTERTEST', secretAccessKey: 'muster/secret+key' };
const cases = [];
for (let i = 0; i < count; ++i) {
    const service = pick(['s3', 'dynamodb', 'execute-api']);
    const method = pick(['GET', 'PUT', 'POST', 'DELETE', 'HEAD']);
    const host = pick(['example.amazonaws.com', '127.0.0.1:4569', 'bucket.s3.eu-west-1.amazonaws.com']);
    const segments = [];
    const n = Math.floor(random() * 4);
    for (let j = 0; j < n; ++j) {
        const r = random();
        if (service !== 's3' && r < 0.1) segments.push('..');
        else if (service !== 's3' && r < 0.2) segments.push('.');
        else if (r < 0.25) segments.push('');
        else segments.push(escapeUri(word(4)));
    }
    const path = '/' + segments.join('/') + (random() < 0.2 ? '/' : '');
    const query = {};
    const wire = [];
    const m = Math.floor(random() * 4);
    for (let j = 0; j < m; ++j) {
        const key = random() < 0.3 && Object.keys(query).length ? pick(Object.keys(query)) : word(3);
        const value = random() < 0.2 ? '' : word(4);
        if (key in query) query[key] = [].concat(query[key], value);
        else query[key] = value;
        wire.push(`${escapeUri(key)}=${escapeUri(value)}`);
    }
    const headers = { host };
    const names = ['X-Custom', 'x-amz-meta-note', 'Content-Type', 'My-Header2'];
    const h = Math.floor(random() * 3);
    for (let j = 0; j < h; ++j) {
        headers[pick(names)] = pick(['  spaced   out  ', 'plain', 'a\tb', '"a   b   c"', 'x,y']);
    }
    const body = method === 'PUT' || method === 'POST' ? word(20) : '';
    const region = pick(['us-east-1', 'eu-west-1']);
    const session = random() < 0.5 ? 'FwoGZXIvYXdzEMUSTER//token==' : '';
    const creds = session ? { ...credentials, sessionToken: session } : credentials;
    const s3 = service === 's3';
    const signer = new SignatureV4({
        credentials: creds,
        region,
        service,
        sha256: Sha256,
        uriEscapePath: !s3,
        applyChecksum: s3,
    });
    const [hostname, port] = host.split(':');
    const request = HttpRequest({
        method, protocol: 'https:', hostname, port: port ? Number(port) : undefined,
        path, query, headers, body: body || undefined,
    });
    const signed = await signer.sign(request, { signingDate: time });
    const url = `https://${host}${path}${wire.length ? '?' + wire.join('&') : ''}`;
    const out = {
        service, region, method, url, body, session,
        headers: Object.entries(headers).filter(([k]) => k !== 'host'),
        authorization: signed.headers.authorization,
    };
    if (!body) {
        const toPresign = HttpRequest({
            method, protocol: 'https:', hostname, port: port ? Number(port) : undefined,
            path, query, headers: s3 ? { host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } : { host },
        });
        const hidden = new Set(['x-amz-content-sha256']);
        const presigned = await signer.presign(toPresign, {
            signingDate: time, expiresIn: 3600, unsignableHeaders: hidden, unhoistableHeaders: hidden,
        });
        out.presigned_signature = presigned.query['X-Amz-Signature'];
    }
    cases.push(out);
}
process.stdout.write(JSON.stringify({ time: time.toISOString(), credentials, cases }));
