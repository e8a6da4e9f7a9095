// A minimal typed fetch over the generated `paths`: what a front end does with any generator.
export interface Session {
  baseUrl: string;
  token: string;
}

export async function getJson<T>(session: Session, path: string, query: Record<string, string> = {}): Promise<T> {
  const url = new URL(path, session.baseUrl);
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
  const response = await fetch(url, { headers: { Authorization: `Bearer ${session.token}` } });
  if (!response.ok) {
    const problem = (await response.json()) as { title: string; detail: string };
    throw new Error(`${response.status} ${problem.title}: ${problem.detail}`);
  }
  return (await response.json()) as T;
}
