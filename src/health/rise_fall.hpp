// rise_fall.hpp: HAProxy's health-check state machine (src/check.c): a counter
// in [0, rise+fall-1]; UP iff counter >= rise. A failure while UP counts down,
// and dropping below rise goes straight to 0 (DOWN); a success while DOWN counts
// up, and reaching rise jumps to rise+fall-1 (fully UP). Pure, no I/O.
#pragma once

namespace ep::health {

class RiseFall {
public:
    enum class Change { None, WentUp, WentDown };

    RiseFall(int rise, int fall, bool start_up = true)
        : rise_(rise), fall_(fall), health_(start_up ? rise : 0) {}

    bool up() const { return health_ >= rise_; }
    int counter() const { return health_; }
    int rise() const { return rise_; }
    int fall() const { return fall_; }

    // Progress shown in logs: while UP, failures seen of `fall`; while DOWN,
    // successes seen of `rise`.
    int failed_in_row() const { return up() ? rise_ + fall_ - 1 - health_ : 0; }
    int passed_in_row() const { return up() ? 0 : health_; }

    Change on_result(bool ok) {
        const bool was_up = up();
        if (ok) {
            if (health_ < rise_ + fall_ - 1) {
                ++health_;
                if (health_ >= rise_) health_ = rise_ + fall_ - 1;
            }
        } else if (health_ > 0) {
            --health_;
            if (health_ < rise_) health_ = 0;
        }
        if (was_up && !up()) return Change::WentDown;
        if (!was_up && up()) return Change::WentUp;
        return Change::None;
    }

    void force(bool is_up) { health_ = is_up ? rise_ + fall_ - 1 : 0; }

private:
    int rise_;
    int fall_;
    int health_;
};

}  // namespace ep::health
