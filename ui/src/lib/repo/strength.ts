export type Strength = 'empty' | 'weak' | 'fair' | 'good' | 'strong';

/**
 * A deliberately simple strength estimate: length plus variety of character
 * classes. It is only a hint; the engine accepts any non-empty password.
 */
export function passwordStrength(password: string): { level: Strength; score: number } {
  if (!password) return { level: 'empty', score: 0 };
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(password)).length;
  const length = [...password].length;
  if (length < 8 || new Set(password).size < 4) return { level: 'weak', score: 1 };
  if (length >= 16 && classes >= 2) return { level: 'strong', score: 4 };
  if (length >= 12 && classes >= 3) return { level: 'strong', score: 4 };
  if (length >= 12 || classes >= 3) return { level: 'good', score: 3 };
  return { level: 'fair', score: 2 };
}
