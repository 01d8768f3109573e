// A streamed response as muster's runtime posts it, beside the same
// response posted by AWS's own Node.js runtime interface client
// (aws-lambda-ric 3.x, `awslambda.streamifyResponse`), both recorded by the
// scripted Runtime API: the streaming headers, the trailers announced, the
// default content type and the error trailers must say the same things.
#include <muster/lambda/events/base64.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "child_process.hpp"
#include "fake_runtime_api.hpp"

namespace ric_wire_test {

namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using muster_test::child_process;
using muster_test::fake_runtime_api;
using muster_test::recorded_request;
using muster_test::scripted_invocation;

const std::string peers_dir = MUSTER_TEST_PEERS_DIR;
const std::string ric_handlers = MUSTER_TEST_RIC_HANDLERS;

std::string ric() { return peers_dir + "/node_modules/aws-lambda-ric/bin/index.mjs"; }

scripted_invocation event(std::string id, std::string payload = "{}") {
    scripted_invocation inv;
    inv.request_id = std::move(id);
    inv.payload = std::move(payload);
    inv.deadline = std::chrono::system_clock::now() + 10s;
    return inv;
}

/// The names a `Trailer` header announces, lower-case.
std::set<std::string> trailer_names(const std::string& value) {
    std::set<std::string> names;
    std::istringstream in(value);
    for (std::string name; std::getline(in, name, ',');) {
        name.erase(0, name.find_first_not_of(' '));
        name.erase(name.find_last_not_of(' ') + 1);
        std::transform(name.begin(), name.end(), name.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        names.insert(name);
    }
    return names;
}

class RicWireTest : public ::testing::Test {
  protected:
    void SetUp() override {
        // The npm_peers fixture installs it; without it this is a failure,
        // not a skip.
        ASSERT_TRUE(std::filesystem::exists(ric()))
            << "aws-lambda-ric is not installed in " << peers_dir;
    }

    /// The one answer of a function to one invocation, through `api`.
    recorded_request answer_of(fake_runtime_api& api, std::vector<std::string> argv,
                               std::map<std::string, std::string> env, const std::string& id,
                               std::string payload = "{}") {
        env.emplace("AWS_LAMBDA_RUNTIME_API", api.address());
        env.emplace("AWS_LAMBDA_FUNCTION_NAME", "wire");
        child_process fn(std::move(argv), std::move(env));
        api.enqueue(event(id, std::move(payload)));
        auto a = api.wait_for_answer(id);
        EXPECT_TRUE(a) << fn.err();
        return a ? *a : recorded_request{};
    }

    recorded_request from_ric(const std::string& handler, const std::string& id) {
        // The client loads the handler from its working directory.
        const std::string command = "cd '" + ric_handlers + "' && exec '" MUSTER_TEST_NODE "' '" +
                                    ric() + "' index." + handler;
        return answer_of(ric_api, {"/bin/sh", "-c", command},
                         {{"LAMBDA_TASK_ROOT", ric_handlers}, {"_HANDLER", "index." + handler}},
                         id);
    }

    recorded_request from_muster(const std::string& handler, const std::string& id,
                                 std::string payload = "{}") {
        return answer_of(muster_api, {MUSTER_TEST_FUNCTION}, {{"_HANDLER", handler}}, id,
                         std::move(payload));
    }

    fake_runtime_api ric_api;
    fake_runtime_api muster_api;
};

TEST_F(RicWireTest, StreamedResponseHeadersMatch) {
    const auto theirs = from_ric("stream", "r1");
    // The gate is open from the start: the handler writes both pieces.
    const auto gate =
        std::filesystem::temp_directory_path() / ("muster-wire-gate-" + std::to_string(::getpid()));
    std::ofstream(gate) << "open";
    const auto ours =
        from_muster("stream_gate", "m1", json::serialize(json::object{{"gate", gate.string()}}));
    std::filesystem::remove(gate);

    EXPECT_EQ(theirs.target, "/2018-06-01/runtime/invocation/r1/response");
    EXPECT_EQ(ours.target, "/2018-06-01/runtime/invocation/m1/response");
    for (const char* name : {"lambda-runtime-function-response-mode", "transfer-encoding"}) {
        EXPECT_EQ(ours.header(name), theirs.header(name)) << name;
    }
    EXPECT_EQ(theirs.header("lambda-runtime-function-response-mode"), "streaming");
    EXPECT_EQ(theirs.header("transfer-encoding"), "chunked");
    EXPECT_EQ(trailer_names(ours.header("trailer")), trailer_names(theirs.header("trailer")));
    EXPECT_EQ(trailer_names(theirs.header("trailer")),
              (std::set<std::string>{"lambda-runtime-function-error-type",
                                     "lambda-runtime-function-error-body"}));
    // Both handlers set text/plain.
    EXPECT_EQ(ours.header("content-type"), theirs.header("content-type"));
    EXPECT_EQ(theirs.body, "first,second,last");
    EXPECT_EQ(ours.body, "first\nsecond\n");
}

TEST_F(RicWireTest, ErrorTrailersAndDefaultContentTypeMatch) {
    const auto theirs = from_ric("streamFail", "r1");
    const auto ours = from_muster("stream_fail", "m1");

    // Neither handler set a content type.
    EXPECT_EQ(ours.header("content-type"), theirs.header("content-type"));
    EXPECT_EQ(theirs.body, "partial,");
    EXPECT_EQ(ours.body, "partial\n");
    EXPECT_EQ(theirs.header("lambda-runtime-function-error-type"), "Error");
    EXPECT_EQ(ours.header("lambda-runtime-function-error-type"), "StreamBroke");

    // The error body trailer: base64 of Lambda's error document, in both.
    const auto doc_of = [](const recorded_request& r) {
        return json::parse(
                   muster::lambda::base64_decode(r.header("lambda-runtime-function-error-body")))
            .as_object();
    };
    const json::object their_doc = doc_of(theirs);
    const json::object our_doc = doc_of(ours);
    EXPECT_EQ(their_doc.at("errorType"), "Error");
    EXPECT_EQ(their_doc.at("errorMessage"), "the stream broke on purpose");
    EXPECT_EQ(our_doc.at("errorType"), "StreamBroke");
    EXPECT_EQ(our_doc.at("errorMessage"), "the stream broke on purpose");
}

}  // namespace

}  // namespace ric_wire_test
