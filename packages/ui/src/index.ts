// @likewise/ui — presentational React components: props in, events out; no data fetching.
export { cn } from "./cn.ts";
export { VoteButtons, type VoteButtonsProps, type VoteValue } from "./vote-buttons.tsx";
