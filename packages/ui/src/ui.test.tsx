import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, test, vi } from "vitest";

import { cn, VoteButtons } from "./index.ts";

describe("cn", () => {
  test("joins truthy class names with single spaces", () => {
    expect(cn("a", false, "b", null, undefined, 0, "", "c")).toBe("a b c");
    expect(cn()).toBe("");
  });
});

describe("VoteButtons", () => {
  test("marks the current vote as pressed and the other as not", () => {
    const html = renderToStaticMarkup(<VoteButtons value="like" onChange={vi.fn()} />);
    expect(html).toMatch(/aria-pressed="true"[^>]*data-vote="like"/);
    expect(html).toMatch(/aria-pressed="false"[^>]*data-vote="dislike"/);
    expect(html).toContain("lw-vote-active");
  });

  test("renders disabled buttons when asked", () => {
    const html = renderToStaticMarkup(<VoteButtons value={null} onChange={vi.fn()} disabled />);
    expect(html.match(/disabled=""/g)).toHaveLength(2);
    expect(html).not.toContain("lw-vote-active");
  });
});
