/**
 * How much a token-level induction head could help on a token stream: cut the stream into contexts of nCtx
 * tokens and, at each position i with a next token inside the context, look for the most recent earlier
 * occurrence j < i of token i. The induction rule "predict the token that followed it" applies when such a j
 * exists and is right when tokens[j+1] = tokens[i+1]. Aoyama et al. (2025) call these bigram repetition
 * frequency and reliability and find both govern whether induction heads form; chi uses the statistic to check
 * that the synthetic corpus plants an induction signal a model can learn (docs/synthetic.md).
 */

export interface InductionRuleStats {
  /** Positions scored (each context contributes nCtx − 2: position 0 has no earlier token, the last no next). */
  positions: number;
  /** Fraction of positions whose token occurred earlier in the context. */
  applies: number;
  /** Fraction of positions where the earlier occurrence's successor is the next token. */
  right: number;
}

/**
 * The induction rule at position i of the context starting at `start` (i + 1 must exist): "none" when token i
 * has no earlier occurrence in the context, else "right" or "wrong" by whether the token after its most recent
 * earlier occurrence is token i + 1.
 */
function ruleAt(tokens: ArrayLike<number>, start: number, i: number): "none" | "right" | "wrong" {
  for (let j = i - 1; j >= start; j--) {
    if (tokens[j] === tokens[i]) return tokens[j + 1] === tokens[i + 1] ? "right" : "wrong";
  }
  return "none";
}

/** Induction-rule statistics over the first `maxContexts` whole contexts of `tokens`. */
export function inductionRuleStats(
  tokens: ArrayLike<number>,
  nCtx: number,
  maxContexts = Infinity,
): InductionRuleStats {
  if (!Number.isInteger(nCtx) || nCtx < 3) throw new RangeError(`nCtx must be an integer ≥ 3, got ${nCtx}`);
  const contexts = Math.min(Math.floor(tokens.length / nCtx), maxContexts);
  if (contexts < 1) throw new RangeError(`need at least one context of ${nCtx} tokens, got ${tokens.length}`);
  let applies = 0, right = 0, positions = 0;
  for (let c = 0; c < contexts; c++) {
    const s = c * nCtx;
    for (let i = s + 1; i < s + nCtx - 1; i++) {
      positions++;
      const r = ruleAt(tokens, s, i);
      if (r !== "none") applies++;
      if (r === "right") right++;
    }
  }
  return { positions, applies: applies / positions, right: right / positions };
}

/**
 * For one context, whether the induction rule predicts token p (p = 1..n−1, index p−1 of the result): the
 * current token is p−1, and the token after its most recent earlier occurrence j < p−1 is token p.
 */
export function inductionRightMask(context: ArrayLike<number>): boolean[] {
  return Array.from({ length: context.length - 1 }, (_, k) => ruleAt(context, 0, k) === "right");
}

/** Mean of a per-token quantity on the tokens the induction rule predicts and on the others, per restriction. */
export interface InductionSplit {
  restriction: string;
  /** Mean over contexts of the per-context mean on rule-predicted tokens, and its standard error. */
  predicted: number;
  predictedSe: number;
  /** The same on the other tokens. */
  other: number;
  otherSe: number;
  /** Tokens in each class, over all contexts. */
  nPredicted: number;
  nOther: number;
}

/**
 * Splits per-token values (per_token.arrow's χ, or ablation deltas) of one probe by whether the induction rule
 * predicts the token. `rows` holds (restriction, context, position, value) with position = the predicted token's
 * index; `contexts` maps a context id to its tokens. Contexts without tokens of a class are left out of that
 * class's mean; the standard error is over contexts (their per-token values are correlated).
 */
export function splitByInductionRule(
  rows: {
    restriction: readonly string[];
    context: ArrayLike<number>;
    position: ArrayLike<number>;
    value: ArrayLike<number>;
  },
  contexts: ReadonlyMap<number, ArrayLike<number>>,
): InductionSplit[] {
  const masks = new Map<number, boolean[]>();
  for (const [id, toks] of contexts) masks.set(id, inductionRightMask(toks));
  // restriction → context → [sum predicted, n predicted, sum other, n other]
  const acc = new Map<string, Map<number, [number, number, number, number]>>();
  for (let i = 0; i < rows.value.length; i++) {
    const mask = masks.get(rows.context[i]);
    if (mask === undefined) throw new RangeError(`context ${rows.context[i]} has no tokens`);
    const p = rows.position[i];
    if (!(p >= 1 && p <= mask.length)) throw new RangeError(`position ${p} is outside 1..${mask.length}`);
    const byCtx = acc.get(rows.restriction[i]) ?? new Map();
    acc.set(rows.restriction[i], byCtx);
    const a = byCtx.get(rows.context[i]) ?? [0, 0, 0, 0];
    byCtx.set(rows.context[i], a);
    if (mask[p - 1]) {
      a[0] += rows.value[i];
      a[1]++;
    } else {
      a[2] += rows.value[i];
      a[3]++;
    }
  }
  const meanSe = (xs: number[]): [number, number] => {
    const m = xs.reduce((s, x) => s + x, 0) / xs.length;
    if (xs.length < 2) return [m, NaN];
    const v = xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1);
    return [m, Math.sqrt(v / xs.length)];
  };
  return [...acc].map(([restriction, byCtx]) => {
    const a = [...byCtx.values()];
    const [predicted, predictedSe] = meanSe(a.filter((x) => x[1] > 0).map((x) => x[0] / x[1]));
    const [other, otherSe] = meanSe(a.filter((x) => x[3] > 0).map((x) => x[2] / x[3]));
    return {
      restriction,
      predicted,
      predictedSe,
      other,
      otherSe,
      nPredicted: a.reduce((s, x) => s + x[1], 0),
      nOther: a.reduce((s, x) => s + x[3], 0),
    };
  });
}
