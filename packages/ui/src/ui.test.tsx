import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, test, vi } from "vitest";

import { cn, KeyboardHelp, PixelImage, ProgressBar, VoteButtons } from "./index.ts";

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

describe("PixelImage", () => {
  test("scales up with crisp pixels at the requested size", () => {
    const html = renderToStaticMarkup(<PixelImage src="/api/images/x" alt="a red circle" size={256} />);
    expect(html).toContain("image-rendering:pixelated");
    expect(html).toContain('width="256"');
    expect(html).toContain('alt="a red circle"');
  });
});

describe("KeyboardHelp", () => {
  test("lists every shortcut with its keys", () => {
    const html = renderToStaticMarkup(
      <KeyboardHelp
        shortcuts={[
          { keys: ["L", "→"], action: "Like" },
          { keys: ["U"], action: "Undo the last vote" },
        ]}
      />,
    );
    expect(html.match(/<kbd/g)).toHaveLength(3);
    expect(html).toContain("Undo the last vote");
  });
});

describe("ProgressBar", () => {
  test("clamps and reports percent for assistive tech", () => {
    expect(renderToStaticMarkup(<ProgressBar value={0.456} label="p" />)).toContain('aria-valuenow="46"');
    expect(renderToStaticMarkup(<ProgressBar value={3} label="p" />)).toContain('aria-valuenow="100"');
  });
});
