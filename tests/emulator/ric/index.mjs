// Handlers run by AWS's own runtime interface client (aws-lambda-ric 3.x,
// built on AWS's C++ runtime) against muster's emulator.
export const ok = async (event, context) => ({
    ok: true,
    event,
    requestId: context.awsRequestId,
    remaining: context.getRemainingTimeInMillis(),
    functionName: context.functionName,
});

export const noop = async () => null;

export const fail = async () => {
    const error = new Error("the handler failed on purpose");
    error.name = "PurposeError";
    throw error;
};

export const slow = async () => {
    await new Promise((resolve) => setTimeout(resolve, 30000));
    return "too late";
};

export const stream = awslambda.streamifyResponse(async (event, responseStream) => {
    responseStream.setContentType("text/plain");
    responseStream.write("first,");
    await new Promise((resolve) => setTimeout(resolve, 50));
    responseStream.write("second,");
    await new Promise((resolve) => setTimeout(resolve, 50));
    responseStream.end("last");
});

export const streamFail = awslambda.streamifyResponse(async (event, responseStream) => {
    responseStream.write("partial,");
    await new Promise((resolve) => setTimeout(resolve, 50));
    throw new Error("the stream broke on purpose");
});
