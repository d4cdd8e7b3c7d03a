// @likewise/ui — presentational React components: props in, events out; no data fetching.
export { Button, type ButtonProps, type ButtonVariant } from "./button.tsx";
export { cn } from "./cn.ts";
export { KeyboardHelp, type Shortcut } from "./keyboard-help.tsx";
export { Notice, type NoticeTone } from "./notice.tsx";
export { PixelImage, type PixelImageProps } from "./pixel-image.tsx";
export { ProgressBar } from "./progress-bar.tsx";
export { StatCard } from "./stat-card.tsx";
export { VoteButtons, type VoteButtonsProps, type VoteValue } from "./vote-buttons.tsx";
