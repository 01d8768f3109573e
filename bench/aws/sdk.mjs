// The work of aws_bench.cpp done with AWS's JavaScript SDK v3
// (@aws-sdk/client-dynamodb, @aws-sdk/client-s3): 1,000 PutItem and 1,000
// PutObject of 20 KB, at most 64 in flight, against the same stand-ins.
//
// Usage: node sdk.mjs --s3 URL --dynamodb URL [--runs N] [--items N] [--limit N]
// (run from a directory whose node_modules holds the SDK). Prints JSON like aws_bench.
import http from 'node:http';
import { DynamoDBClient, PutItemCommand, CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { S3Client, PutObjectCommand } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';

const args = {};
for (let i = 2; i + 1 < process.argv.length; i += 2) args[process.argv[i].slice(2)] = process.argv[i + 1];
const runs = Number(args.runs ?? 5);
const items = Number(args.items ?? 1000);
const limit = Number(args.limit ?? 64);
const table = 'muster-bench';
const bucket = 'muster-bench';

const common = {
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    maxAttempts: 3,
    // Keep-alive connections, as many as tasks in flight (as muster's pool).
    requestHandler: new NodeHttpHandler({
        httpAgent: new http.Agent({ keepAlive: true, maxSockets: limit }),
    }),
};
const ddb = new DynamoDBClient({ ...common, endpoint: args.dynamodb });
const s3 = new S3Client({
    ...common, endpoint: args.s3, forcePathStyle: true,
    // No CRC32 checksums on uploads: muster sends none either.
    requestChecksumCalculation: 'WHEN_REQUIRED',
});

// At most `limit` of `count` tasks in flight; every one must succeed.
async function pool(count, task) {
    let next = 0;
    const worker = async () => {
        while (next < count) await task(next++);
    };
    await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}

try {
    await ddb.send(new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
    }));
} catch (e) {
    if (e.name !== 'ResourceInUseException') throw e;
}

const body = Buffer.alloc(20 * 1024, 'j');
const itemRuns = [];
const objectRuns = [];
const itemCpu = [];
const objectCpu = [];
// CPU time of this process (user + system), in ms: the client's own cost.
const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
};
for (let run = 0; run < runs; ++run) {
    let start = performance.now();
    let cpu = cpuMs();
    await pool(items, (i) => ddb.send(new PutItemCommand({
        TableName: table,
        Item: { pk: { S: `sdk${run}-${i}` }, width: { N: '640' }, state: { S: 'resized' } },
    })));
    itemRuns.push(performance.now() - start);
    itemCpu.push(cpuMs() - cpu);
    start = performance.now();
    cpu = cpuMs();
    await pool(items, (i) => s3.send(new PutObjectCommand({
        Bucket: bucket, Key: `sdk${run}/${i}`, Body: body,
    })));
    objectRuns.push(performance.now() - start);
    objectCpu.push(cpuMs() - cpu);
}
process.stdout.write(JSON.stringify({
    implementation: 'aws-sdk-js-v3', runtime: `Node ${process.version}`, items, limit,
    workloads: {
        put_item: { runs_ms: itemRuns, cpu_ms: itemCpu },
        put_object: { runs_ms: objectRuns, cpu_ms: objectCpu },
    },
}) + '\n');
ddb.destroy();
s3.destroy();
