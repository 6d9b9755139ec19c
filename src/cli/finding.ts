// One line of `tether doctor`: a check, whether it passed, and the fix.
export interface Finding {
  readonly check: string;
  readonly ok: boolean;
  readonly detail: string;
  /** What to do about it, for a problem. */
  readonly fix?: string;
}
