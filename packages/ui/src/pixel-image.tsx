import { cn } from "./cn.ts";

export type PixelImageProps = {
  src: string;
  alt: string;
  /** Displayed edge length in CSS pixels; the small source is scaled up with crisp (nearest-neighbour) pixels. */
  size: number;
  className?: string;
  onLoad?: () => void;
};

/** A low-resolution generated image scaled up without smoothing (`image-rendering: pixelated`). */
export function PixelImage({ src, alt, size, className, onLoad }: PixelImageProps) {
  return (
    <img
      src={src}
      alt={alt}
      width={size}
      height={size}
      onLoad={onLoad}
      draggable={false}
      style={{ imageRendering: "pixelated", width: size, height: size }}
      className={cn("rounded-md bg-zinc-900", className)}
    />
  );
}
