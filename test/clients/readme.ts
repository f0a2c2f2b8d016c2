/** The example the README's "Using the API" shows each client's files with, as npm run clients writes them. */
export const README_EXAMPLE = {
  // The home stack has no domain: the edge's address, and the CA its certificate is signed by.
  api: { baseUrl: "https://192.168.1.40/v1", key: "sk-infernus-…", ca: "/home/kirill/.infernus/home/clients/ca.crt" },
  atHome: "https://gpu1.home.arpa/v1",
  chat: ["gpt-oss-120b", "qwen3-coder-30b"],
  embedding: ["qwen3-embedding-8b"],
  rerank: [] as string[],
};
