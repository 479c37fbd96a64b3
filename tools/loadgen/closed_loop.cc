#include "tools/loadgen/closed_loop.h"

#include <kj/debug.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>

#include "tools/loadgen/latency_histogram.h"

namespace neuroplex::loadgen {
namespace {

using Clock = std::chrono::steady_clock;

constexpr kj::Duration kErrorBackoff = 10 * kj::MILLISECONDS;
constexpr kj::Duration kProgressInterval = 100 * kj::MILLISECONDS;
constexpr int kProgressBarWidth = 30;

Clock::duration to_duration(double seconds) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

class Driver {
 public:
  Driver(kj::AsyncIoContext& io, Target& target, const LoadOptions& options)
      : timer_(io.provider->getTimer()), target_(target), options_(options) {}

  LoadReport run(kj::WaitScope& wait_scope) {
    begin_ = Clock::now();
    measure_start_ = begin_ + to_duration(options_.warmup_seconds);
    measure_end_ = measure_start_ + to_duration(options_.seconds);
    last_reply_ = measure_start_;

    auto loops = kj::heapArrayBuilder<kj::Promise<void>>(options_.clients);
    for (std::size_t client = 0; client < options_.clients; ++client) {
      loops.add(client_loop(client));
    }
    kj::Promise<void> progress = kj::READY_NOW;
    if (options_.progress) progress = progress_loop().eagerlyEvaluate(nullptr);
    kj::joinPromises(loops.finish()).wait(wait_scope);
    if (options_.progress) clear_progress();
    return report();
  }

 private:
  bool timed() const { return options_.seconds > 0; }

  bool stop_issuing(Clock::time_point now) const {
    if (timed()) return now >= measure_end_;
    return measured_issued_ >= options_.ops;
  }

  kj::Promise<void> client_loop(std::size_t client) {
    Clock::time_point start = Clock::now();
    if (stop_issuing(start)) return kj::READY_NOW;
    bool measured = start >= measure_start_;
    if (measured) ++measured_issued_;
    std::uint64_t n = next_request_++;
    auto reply = kj::evalNow([&] { return target_.issue(client, n); });
    return timer_.timeoutAfter(options_.request_timeout_ms * kj::MILLISECONDS, kj::mv(reply))
        .catch_([this, client](kj::Exception&& exception) {
          target_.reset(client);
          return Outcome{false, "UNAVAILABLE: " + std::string(exception.getDescription().cStr())};
        })
        .then([this, client, start, measured](Outcome&& outcome) {
          return after_reply(client, start, measured, std::move(outcome));
        });
  }

  kj::Promise<void> after_reply(std::size_t client, Clock::time_point start, bool measured,
                                Outcome outcome) {
    Clock::time_point end = Clock::now();
    if (measured) {
      last_reply_ = std::max(last_reply_, end);
      if (outcome.ok) {
        ++ok_;
        histogram_.add(end - start);
      } else {
        ++errors_;
        if (first_error_.empty()) first_error_ = std::move(outcome.error);
      }
    }
    if (outcome.ok) return client_loop(client);
    return timer_.afterDelay(kErrorBackoff).then([this, client] { return client_loop(client); });
  }

  kj::Promise<void> progress_loop() {
    return timer_.afterDelay(kProgressInterval).then([this] {
      draw_progress();
      return progress_loop();
    });
  }

  void draw_progress() {
    Clock::time_point now = Clock::now();
    double fraction = 0;
    if (now < measure_start_) {
      // Warmup.
    } else if (timed()) {
      fraction = std::chrono::duration<double>(now - measure_start_).count() / options_.seconds;
    } else {
      fraction = static_cast<double>(measured_issued_) / static_cast<double>(options_.ops);
    }
    fraction = std::clamp(fraction, 0.0, 1.0);
    int filled = static_cast<int>(fraction * kProgressBarWidth);
    double elapsed = std::chrono::duration<double>(now - measure_start_).count();
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.append(static_cast<std::size_t>(kProgressBarWidth - filled), '.');
    if (now < measure_start_) {
      std::fprintf(stderr, "\r[%s] warmup %.1f s   ", bar.c_str(), -elapsed);
    } else {
      double rate = elapsed > 0 ? static_cast<double>(ok_) / elapsed : 0;
      std::fprintf(stderr, "\r[%s] %3.0f%%  %llu ops  %.0f ops/s  %llu errors   ", bar.c_str(),
                   fraction * 100, static_cast<unsigned long long>(ok_), rate,
                   static_cast<unsigned long long>(errors_));
    }
    std::fflush(stderr);
  }

  static void clear_progress() {
    std::fprintf(stderr, "\r%*s\r", kProgressBarWidth + 60, "");
    std::fflush(stderr);
  }

  LoadReport report() {
    LoadReport report;
    report.ops = ok_;
    report.errors = errors_;
    report.first_error = first_error_;
    if (ok_ + errors_ > 0) {
      report.seconds = std::chrono::duration<double>(last_reply_ - measure_start_).count();
    }
    if (report.seconds > 0) report.ops_per_sec = static_cast<double>(ok_) / report.seconds;
    report.p50_ms = histogram_.percentile_ms(0.5);
    report.p99_ms = histogram_.percentile_ms(0.99);
    report.p999_ms = histogram_.percentile_ms(0.999);
    report.max_ms = histogram_.percentile_ms(1.0);
    return report;
  }

  kj::Timer& timer_;
  Target& target_;
  const LoadOptions& options_;
  Clock::time_point begin_;
  Clock::time_point measure_start_;  // requests that start before this are warmup
  Clock::time_point measure_end_;    // timed runs issue nothing from here on
  Clock::time_point last_reply_;     // of a measured request; >= measure_start_
  std::uint64_t next_request_ = 0;
  std::uint64_t measured_issued_ = 0;
  std::uint64_t ok_ = 0;      // measured
  std::uint64_t errors_ = 0;  // measured
  std::string first_error_;   // of a measured request
  LatencyHistogram histogram_;
};

}  // namespace

std::string payload(std::size_t size_bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string value(size_bytes, ' ');
  std::uint64_t state = 0x9e3779b97f4a7c15;  // fixed: every run writes the same bytes
  for (char& c : value) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    c = kAlphabet[(state >> 33) % (sizeof(kAlphabet) - 1)];
  }
  return value;
}

LoadReport run_closed_loop(kj::AsyncIoContext& io, Target& target, const LoadOptions& options) {
  Driver driver(io, target, options);
  return driver.run(io.waitScope);
}

Status check_options(const std::vector<std::string>& endpoints, const LoadOptions& options) {
  if (endpoints.empty()) return invalid_argument("no endpoints");
  if (options.clients == 0) return invalid_argument("clients must be at least 1");
  if (options.seconds <= 0 && options.ops == 0) {
    return invalid_argument("give ops or seconds greater than 0");
  }
  if (options.warmup_seconds < 0) return invalid_argument("warmup must not be negative");
  if (options.keys == 0) return invalid_argument("keys must be at least 1");
  if (options.request_timeout_ms == 0) return invalid_argument("request timeout must be > 0");
  return Status::ok();
}

Result<LoadReport> on_event_loop(kj::Function<Result<LoadReport>(kj::AsyncIoContext&)> body) {
  std::optional<Result<LoadReport>> result;
  kj::Maybe<kj::Exception> exception = kj::runCatchingExceptions([&] {
    auto io = kj::setupAsyncIo();
    result = body(io);
  });
  KJ_IF_MAYBE (e, exception) {
    return Status(ErrorCode::kUnavailable, e->getDescription().cStr());
  }
  if (result.has_value()) return std::move(*result);
  return internal_error("the load run ended without a result");
}

}  // namespace neuroplex::loadgen
