#include <muster/core/cpu_pool.hpp>

#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

namespace cpu_pool_test {

namespace {

/// Sets an environment variable for the scope of one test.
class scoped_env {
  public:
    scoped_env(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        ::setenv(name, value, 1);
    }
    scoped_env(const scoped_env&) = delete;
    scoped_env& operator=(const scoped_env&) = delete;
    ~scoped_env() {
        if (old_) {
            ::setenv(name_, old_->c_str(), 1);
        } else {
            ::unsetenv(name_);
        }
    }

  private:
    const char* name_;
    std::optional<std::string> old_;
};

TEST(CpuPoolTest, CgroupV2QuotaIsRoundedUpToWholeCpus) {
    using muster::detail::cpu_count_from_cgroup;
    EXPECT_EQ(cpu_count_from_cgroup("200000 100000"), 2u);
    EXPECT_EQ(cpu_count_from_cgroup("200000 100000\n"), 2u);
    EXPECT_EQ(cpu_count_from_cgroup("150000 100000"), 2u);
    EXPECT_EQ(cpu_count_from_cgroup("100000 100000"), 1u);
    EXPECT_EQ(cpu_count_from_cgroup("50000 100000"), 1u);
    EXPECT_EQ(cpu_count_from_cgroup("400000 50000"), 8u);
}

TEST(CpuPoolTest, UnlimitedOrGarbageCgroupV2QuotaFallsBack) {
    using muster::detail::cpu_count_from_cgroup;
    EXPECT_EQ(cpu_count_from_cgroup("max 100000"), std::nullopt);
    EXPECT_EQ(cpu_count_from_cgroup("max 100000\n"), std::nullopt);
    EXPECT_EQ(cpu_count_from_cgroup(""), std::nullopt);
    EXPECT_EQ(cpu_count_from_cgroup("garbage"), std::nullopt);
    EXPECT_EQ(cpu_count_from_cgroup("200000"), std::nullopt);
    EXPECT_EQ(cpu_count_from_cgroup("-1 100000"), std::nullopt);
    EXPECT_EQ(cpu_count_from_cgroup("200000 0"), std::nullopt);
    EXPECT_EQ(cpu_count_from_cgroup("0 100000"), std::nullopt);
    EXPECT_EQ(cpu_count_from_cgroup("2e5 1e5"), std::nullopt);
    EXPECT_EQ(cpu_count_from_cgroup("200000 100000 7"), std::nullopt);
    EXPECT_EQ(cpu_count_from_cgroup("99999999999999999999999 100000"), std::nullopt);
}

TEST(CpuPoolTest, CgroupV1QuotaIsParsedAndMinusOneFallsBack) {
    using muster::detail::cpu_count_from_cgroup_v1;
    EXPECT_EQ(cpu_count_from_cgroup_v1("200000\n", "100000\n"), 2u);
    EXPECT_EQ(cpu_count_from_cgroup_v1("150000", "100000"), 2u);
    EXPECT_EQ(cpu_count_from_cgroup_v1("-1\n", "100000\n"), std::nullopt);
    EXPECT_EQ(cpu_count_from_cgroup_v1("abc", "100000"), std::nullopt);
    EXPECT_EQ(cpu_count_from_cgroup_v1("200000", ""), std::nullopt);
}

TEST(CpuPoolTest, OwnCgroupV2PathIsFoundInProcSelfCgroup) {
    using muster::detail::cgroup_v2_path;
    EXPECT_EQ(cgroup_v2_path("0::/system.slice/app.service\n"), "/system.slice/app.service");
    EXPECT_EQ(cgroup_v2_path("4:memory:/x\n1:cpu:/\n0::/\n"), "/");
    EXPECT_EQ(cgroup_v2_path("4:memory:/x\n1:cpu:/\n"), std::nullopt);
    EXPECT_EQ(cgroup_v2_path(""), std::nullopt);
}

TEST(CpuPoolTest, SourcesArePreferredInOrderEnvV2V1Hardware) {
    using muster::detail::cpu_sources;
    using muster::detail::resolve_cpu_count;
    EXPECT_EQ(resolve_cpu_count(cpu_sources{"3", "200000 100000", "100000", "100000", 8}), 3u);
    EXPECT_EQ(resolve_cpu_count(cpu_sources{{}, "200000 100000", "100000", "100000", 8}), 2u);
    EXPECT_EQ(resolve_cpu_count(cpu_sources{{}, "max 100000", "100000", "100000", 8}), 1u);
    EXPECT_EQ(resolve_cpu_count(cpu_sources{{}, {}, "300000", "100000", 8}), 3u);
    EXPECT_EQ(resolve_cpu_count(cpu_sources{{}, "garbage", "-1", "100000", 8}), 8u);
    EXPECT_EQ(resolve_cpu_count(cpu_sources{{}, {}, {}, {}, 6}), 6u);
}

TEST(CpuPoolTest, CountIsAtLeastOneAndQuotaIsCappedByHardware) {
    using muster::detail::cpu_sources;
    using muster::detail::resolve_cpu_count;
    EXPECT_EQ(resolve_cpu_count(cpu_sources{{}, {}, {}, {}, 0}), 1u);
    EXPECT_EQ(resolve_cpu_count(cpu_sources{{}, "800000 100000", {}, {}, 2}), 2u);
    EXPECT_EQ(resolve_cpu_count(cpu_sources{{}, "800000 100000", {}, {}, 0}), 8u);
}

TEST(CpuPoolTest, EnvironmentVariableOverridesDefaultCount) {
    {
        scoped_env env("MUSTER_CPU_THREADS", "7");
        EXPECT_EQ(muster::default_cpu_count(), 7u);
    }
    {
        scoped_env env("MUSTER_CPU_THREADS", "1");
        EXPECT_EQ(muster::default_cpu_count(), 1u);
    }
}

TEST(CpuPoolTest, InvalidEnvironmentVariableIsReportedNotIgnored) {
    for (const char* bad : {"0", "-2", "abc", "3x", "", "99999999999"}) {
        scoped_env env("MUSTER_CPU_THREADS", bad);
        EXPECT_THROW(muster::default_cpu_count(), std::invalid_argument) << "value '" << bad << "'";
    }
}

TEST(CpuPoolTest, PoolIsOneProcessWideInstance) {
    EXPECT_EQ(&muster::cpu_pool(), &muster::cpu_pool());
    EXPECT_GE(muster::default_cpu_count(), 1u);
}

}  // namespace

}  // namespace cpu_pool_test
