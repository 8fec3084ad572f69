/**
 * Fires once when a condition becomes true, then stays quiet until it has cleared (hysteresis) and the
 * cool-down since the last firing has passed.
 */
export class Latch {
  private firing = false
  private lastFiredAt = Number.NEGATIVE_INFINITY

  constructor(readonly cooldownMs: number) {}

  /** `true` when the alert should fire now. */
  step(now: number, raised: boolean, cleared: boolean): boolean {
    if (this.firing) {
      if (cleared) this.firing = false
      return false
    }
    if (raised && now - this.lastFiredAt >= this.cooldownMs) {
      this.firing = true
      this.lastFiredAt = now
      return true
    }
    return false
  }
}
