// The no-op function the runtime benchmark starts under AWS's Node client
// (aws-lambda-ric, built on AWS's C++ runtime).
export const handler = async () => ({});
