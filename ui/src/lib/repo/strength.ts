export type Strength = 'empty' | 'weak' | 'fair' | 'good' | 'strong';

/** Passwords (and parts) every guesser tries first. Lower case. */
const COMMON = [
  'password',
  'passw0rd',
  'qwerty',
  'azerty',
  'qwertz',
  '123456',
  'letmein',
  'welcome',
  'admin',
  'iloveyou',
  'monkey',
  'dragon',
  'secret',
  'backup',
  'qcbackup',
  'microsoft',
  'office365',
];

/**
 * Length that counts: a character repeating the previous one, or continuing a run such as
 * "abc", "cba" or "123", adds nothing.
 */
function effectiveLength(password: string): number {
  const codes = [...password].map((c) => c.codePointAt(0) ?? 0);
  let n = 0;
  for (let i = 0; i < codes.length; i++) {
    const step = i > 0 ? codes[i] - codes[i - 1] : NaN;
    const prevStep = i > 1 ? codes[i - 1] - codes[i - 2] : NaN;
    const repeat = step === 0;
    const run = (step === 1 || step === -1) && step === prevStep;
    if (!repeat && !run) n++;
  }
  return n;
}

/**
 * A simple strength estimate: length without repeats and runs, variety of character classes,
 * and no well-known password inside. It is only a hint; the engine accepts any non-empty
 * password (and stretches it with Argon2id).
 */
export function passwordStrength(password: string): { level: Strength; score: number } {
  if (!password) return { level: 'empty', score: 0 };
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(password)).length;
  let length = effectiveLength(password);
  const lower = password.toLowerCase();
  for (const word of COMMON) {
    // A well-known word counts as one character.
    if (lower.includes(word)) length -= word.length - 1;
  }
  if (length < 8 || new Set(password).size < 4) return { level: 'weak', score: 1 };
  if (length >= 16 && classes >= 2) return { level: 'strong', score: 4 };
  if (length >= 12 && classes >= 3) return { level: 'strong', score: 4 };
  if (length >= 12 || classes >= 3) return { level: 'good', score: 3 };
  return { level: 'fair', score: 2 };
}
