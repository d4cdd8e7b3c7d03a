// Structured JSON logs, one object per line: easy to grep, easy to ship.
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type LogLevel = keyof typeof LEVELS;
export type Logger = Record<LogLevel, (msg: string, fields?: Record<string, unknown>) => void>;

export function createLogger(base: Record<string, unknown>, min: LogLevel = "info"): Logger {
  const emit = (level: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    if (LEVELS[level] < LEVELS[min]) return;
    const line = JSON.stringify({ t: new Date().toISOString(), level, msg, ...base, ...fields });
    (level === "error" || level === "warn" ? process.stderr : process.stdout).write(line + "\n");
  };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}
