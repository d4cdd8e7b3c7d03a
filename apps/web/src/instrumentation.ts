// Runs once when the web server process starts (`next start`, `next dev`): from then on every request carries its
// socket address in a private header, for the per-IP rate limits (server/client-address.ts).
export async function register() {
  const { recordPeerAddresses } = await import("./server/client-address");
  recordPeerAddresses();
}
