// Fetch helpers for the Soundstage API: JSON calls, uploads, job polling and file URLs.

/** An error answer of the server; `message` is its one-line `detail`. */
export class ApiError extends Error {}

/** The server's message for a failed response, as one line. */
async function failure(response) {
  let detail = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    // The server answers every error with one string (its validation errors too, field first).
    if (typeof body.detail === "string") detail = body.detail;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(detail.replace(/\s*\n\s*/g, " "));
}

/** Call a JSON endpoint; returns the parsed answer or throws ApiError. */
export async function call(method, path, body) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  if (!response.ok) throw await failure(response);
  return response.json();
}

export const getJSON = (path) => call("GET", path);
export const postJSON = (path, body) => call("POST", path, body);

/** POST JSON and get a binary answer (the scene ZIP). */
export async function postForBlob(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw await failure(response);
  return response.blob();
}

/** Upload one file; kind is sound | image | video | sofa. Returns the upload metadata. */
export async function upload(file, kind) {
  const form = new FormData();
  form.append("file", file, file.name);
  if (kind) form.append("kind", kind);
  const response = await fetch("/api/uploads", { method: "POST", body: form });
  if (!response.ok) throw await failure(response);
  return response.json();
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Start a job (`kind` is image | video | text | render | sound) and poll it until it ends.
 * `onProgress(job)` sees every state; resolves with the finished job, throws ApiError with
 * the job's `error` when it fails.
 */
export async function runJob(kind, body, onProgress = () => {}) {
  let job = await postJSON(`/api/jobs/${kind}`, body);
  let wait = 150;
  while (job.state !== "done" && job.state !== "failed") {
    onProgress(job);
    await sleep(wait);
    wait = Math.min(wait * 1.5, 1000); // quick answers for cached or short jobs, few requests for long ones
    job = await getJSON(`/api/jobs/${job.id}`);
  }
  onProgress(job);
  if (job.state === "failed") throw new ApiError(job.error || "the job failed");
  return job;
}

/** URL of a file of a finished job; `download` asks for an attachment. */
export function jobFileUrl(jobId, name, download = false) {
  return `/api/jobs/${jobId}/files/${encodeURIComponent(name)}${download ? "?download=1" : ""}`;
}

/** URL of an upload's bytes. */
export const uploadUrl = (id) => `/api/uploads/${id}/content`;
