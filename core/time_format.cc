#include "core/time_format.h"

#include <chrono>
#include <cstdio>

namespace tokenledger::core {
namespace {

using std::chrono::day;
using std::chrono::days;
using std::chrono::month;
using std::chrono::sys_days;
using std::chrono::year;
using std::chrono::year_month_day;

constexpr std::int64_t kSecondsPerDay = 86400;

struct CivilTime {
  year_month_day date;
  std::int64_t second_of_day;
};

CivilTime ToCivil(Timestamp t) {
  std::int64_t day_number = t / kSecondsPerDay;
  std::int64_t rem = t % kSecondsPerDay;
  if (rem < 0) {
    rem += kSecondsPerDay;
    --day_number;
  }
  return {year_month_day{sys_days{days{day_number}}}, rem};
}

Timestamp FromCivil(const year_month_day& date, std::int64_t second_of_day) {
  return static_cast<Timestamp>(sys_days{date}.time_since_epoch().count()) * kSecondsPerDay +
         second_of_day;
}

// Reads exactly n decimal digits at text[pos]; -1 if any is not a digit.
int Digits(std::string_view text, size_t pos, size_t n) {
  if (pos + n > text.size()) return -1;
  int value = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (text[i] < '0' || text[i] > '9') return -1;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

void Put2(char* out, int v) {
  out[0] = static_cast<char>('0' + v / 10);
  out[1] = static_cast<char>('0' + v % 10);
}

}  // namespace

char* FormatRfc3339To(Timestamp t, char* out) {
  CivilTime c = ToCivil(t);
  int y = static_cast<int>(c.date.year());
  if (y < 0) y = 0;
  if (y > 9999) y = 9999;
  Put2(out, y / 100);
  Put2(out + 2, y % 100);
  out[4] = '-';
  Put2(out + 5, static_cast<int>(static_cast<unsigned>(c.date.month())));
  out[7] = '-';
  Put2(out + 8, static_cast<int>(static_cast<unsigned>(c.date.day())));
  out[10] = 'T';
  Put2(out + 11, static_cast<int>(c.second_of_day / 3600));
  out[13] = ':';
  Put2(out + 14, static_cast<int>(c.second_of_day / 60 % 60));
  out[16] = ':';
  Put2(out + 17, static_cast<int>(c.second_of_day % 60));
  out[19] = 'Z';
  return out + 20;
}

std::string FormatRfc3339(Timestamp t) {
  char buf[20];
  FormatRfc3339To(t, buf);
  return std::string(buf, sizeof buf);
}

Result<Timestamp> ParseRfc3339(std::string_view text) {
  auto bad = [&] {
    return Status::InvalidArgument("not an RFC 3339 date-time (like 2026-12-04T19:23:08Z)");
  };
  if (text.size() < 20 || text.size() > 40) return bad();
  int y = Digits(text, 0, 4), mo = Digits(text, 5, 2), d = Digits(text, 8, 2);
  int h = Digits(text, 11, 2), mi = Digits(text, 14, 2), s = Digits(text, 17, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || s < 0) return bad();
  if (text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != 't') ||
      text[13] != ':' || text[16] != ':')
    return bad();
  // Leap seconds (:60) are not representable in Unix time; reject rather than guess.
  if (h > 23 || mi > 59 || s > 59) return bad();
  year_month_day date{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!date.ok()) return bad();
  size_t pos = 19;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    if (pos == start) return bad();
  }
  if (pos >= text.size()) return bad();
  std::int64_t offset = 0;
  if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    int oh = Digits(text, pos + 1, 2), om = Digits(text, pos + 4, 2);
    if (oh < 0 || om < 0 || pos + 6 != text.size() || text[pos + 3] != ':' || oh > 23 || om > 59)
      return bad();
    offset = (oh * 3600 + om * 60) * (text[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != text.size()) return bad();
  return FromCivil(date, h * 3600 + mi * 60 + s) - offset;
}

Timestamp AddOneCalendarYear(Timestamp t) {
  CivilTime c = ToCivil(t);
  year_month_day next{c.date.year() + std::chrono::years{1}, c.date.month(), c.date.day()};
  if (!next.ok()) next = year_month_day{next.year(), next.month(), day{28}};  // Feb 29
  return FromCivil(next, c.second_of_day);
}

Result<std::int64_t> ParseDuration(std::string_view text) {
  constexpr std::int64_t kMaxSeconds = 366LL * 86400;
  auto invalid = [&] {
    return Status::InvalidArgument("a duration is a number and a unit s, m, h or d (like 7d or 12h), at most 366d");
  };
  if (text.size() < 2 || text.size() > 12) return invalid();
  std::int64_t unit = 0;
  switch (text.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    default: return invalid();
  }
  std::int64_t n = 0;
  for (char c : text.substr(0, text.size() - 1)) {
    if (c < '0' || c > '9') return invalid();
    n = n * 10 + (c - '0');
    if (n * unit > kMaxSeconds) return invalid();
  }
  return n * unit;
}

}  // namespace tokenledger::core
