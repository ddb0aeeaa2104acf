#include "projections/event_waiters.h"

#include <algorithm>

namespace tokenledger::projections {

void EventWaiters::Reset(std::uint64_t head, std::unordered_map<std::string, std::uint64_t> namespace_heads) {
  std::lock_guard lock(mutex_);
  head_ = head;
  namespace_heads_ = std::move(namespace_heads);
}

std::uint64_t EventWaiters::NamespaceHeadLocked(std::string_view namespace_id) const {
  auto it = namespace_heads_.find(std::string(namespace_id));
  return it == namespace_heads_.end() ? 0 : it->second;
}

std::uint64_t EventWaiters::NamespaceHead(std::string_view namespace_id) const {
  std::lock_guard lock(mutex_);
  return NamespaceHeadLocked(namespace_id);
}

bool EventWaiters::SatisfiedLocked(const Waiter& w) const {
  std::uint64_t last = w.namespace_id ? NamespaceHeadLocked(*w.namespace_id) : head_;
  return last > w.after;
}

void EventWaiters::Wait(std::uint64_t after, std::optional<std::string> namespace_id, Clock::time_point deadline,
                        Callback callback) {
  Waiter w{after, std::move(namespace_id), deadline, std::move(callback)};
  bool now;
  {
    std::lock_guard lock(mutex_);
    now = cancelled_ || SatisfiedLocked(w) || deadline <= Clock::now();
    if (!now) {
      waiters_.emplace(next_id_++, std::move(w));
      return;
    }
    now = !cancelled_ && SatisfiedLocked(w);
  }
  w.callback(now);
}

void EventWaiters::Published(const std::vector<events::Event>& appended) {
  std::vector<Callback> due;
  {
    std::lock_guard lock(mutex_);
    for (const events::Event& e : appended) {
      head_ = std::max(head_, e.seq);
      auto [it, inserted] = namespace_heads_.try_emplace(events::NamespaceOf(e.payload), e.seq);
      if (!inserted) it->second = std::max(it->second, e.seq);
    }
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (SatisfiedLocked(it->second)) {
        due.push_back(std::move(it->second.callback));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (Callback& c : due) c(true);
}

void EventWaiters::ExpireDue(Clock::time_point now) {
  std::vector<Callback> due;
  {
    std::lock_guard lock(mutex_);
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->second.deadline <= now) {
        due.push_back(std::move(it->second.callback));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (Callback& c : due) c(false);
}

std::optional<EventWaiters::Clock::time_point> EventWaiters::NextDeadline() const {
  std::lock_guard lock(mutex_);
  std::optional<Clock::time_point> next;
  for (const auto& [id, w] : waiters_)
    if (!next || w.deadline < *next) next = w.deadline;
  return next;
}

void EventWaiters::CancelAll() {
  std::vector<Callback> due;
  {
    std::lock_guard lock(mutex_);
    cancelled_ = true;
    for (auto& [id, w] : waiters_) due.push_back(std::move(w.callback));
    waiters_.clear();
  }
  for (Callback& c : due) c(false);
}

}  // namespace tokenledger::projections
