// Reading Retry-After: the forms RFC 9110 allows, and what is refused.
#include <chrono>

#include <gtest/gtest.h>

#include "retry_after.hpp"

namespace retry_after_test {

namespace {

using namespace std::chrono;
using muster::http::detail::retry_after;

// Sun, 06 Nov 1994 08:49:37 GMT
const system_clock::time_point rfc_example = sys_days{year{1994} / November / 6} + 8h + 49min + 37s;

TEST(RetryAfter, ReadsDelaySeconds) {
    EXPECT_EQ(retry_after("120", rfc_example), seconds(120));
    EXPECT_EQ(retry_after(" 0 ", rfc_example), seconds(0));
}

TEST(RetryAfter, ReadsAnImfFixdateRelativeToNow) {
    EXPECT_EQ(retry_after("Sun, 06 Nov 1994 08:49:47 GMT", rfc_example), seconds(10));
    EXPECT_EQ(retry_after("Mon, 07 Nov 1994 08:49:37 GMT", rfc_example), hours(24));
}

TEST(RetryAfter, ReadsTheObsoleteDateForms) {
    EXPECT_EQ(retry_after("Sunday, 06-Nov-94 08:50:37 GMT", rfc_example), seconds(60));
    EXPECT_EQ(retry_after("Sun Nov  6 08:49:39 1994", rfc_example), seconds(2));
}

TEST(RetryAfter, ADateInThePastMeansNoWait) {
    EXPECT_EQ(retry_after("Sat, 05 Nov 1994 08:49:37 GMT", rfc_example), seconds(0));
}

TEST(RetryAfter, RefusesWhatIsNotADelayOrADate) {
    for (const char* bad : {"", "soon", "-5", "1.5", "12abc", "Sun, 06 Nov 1994 08:49:37",
                            "Sun, 31 Feb 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:00:00 GMT",
                            "Sun, 06 Foo 1994 08:49:37 GMT", "99999999999999999999999"}) {
        EXPECT_EQ(retry_after(bad, rfc_example), std::nullopt) << '"' << bad << '"';
    }
}

TEST(RetryAfter, RefusesWaitsLongerThanAYear) {
    EXPECT_EQ(retry_after("40000000", rfc_example), std::nullopt);
    EXPECT_EQ(retry_after("Sun, 06 Nov 2094 08:49:37 GMT", rfc_example), std::nullopt);
}

TEST(RetryAfter, IgnoresDatesSystemClockCannotHold) {
    // Found by fuzzing: system_clock's nanoseconds end in 2262, and converting
    // year 9999 to them overflowed (a wait of 0 s or 276,803 s, under UBSan a
    // report).
    for (const char* far : {"\x01"
                            "Fri, 31 Dec 9999 23:59:59 GMT",
                            "Fri, 31 Dec 9999 23:59:59 GMT", "Fri Dec 31 23:59:59 9999",
                            "Sat, 01 Jan 2300 00:00:00 GMT"}) {
        EXPECT_EQ(retry_after(far, rfc_example), std::nullopt) << far;
    }
    EXPECT_EQ(retry_after("Mon, 01 Jan 0001 00:00:00 GMT", rfc_example), seconds(0));
    EXPECT_EQ(retry_after("Mon, 01 Jan 1600 00:00:00 GMT", rfc_example), seconds(0));
}

TEST(RetryAfter, ADayNameIsLetters) {
    EXPECT_EQ(retry_after("\x01Sun, 06 Nov 1994 08:49:47 GMT", rfc_example), std::nullopt);
    EXPECT_EQ(retry_after("S1n, 06 Nov 1994 08:49:47 GMT", rfc_example), std::nullopt);
}

}  // namespace

}  // namespace retry_after_test
