/** Toolbar popup: check the page's main video, and the list of recent checks with links. */
import { ext } from "../shared/browser.js";
import { probabilityText, progressFraction, stageText, verdictText } from "../shared/labels.js";
import { MSG } from "../shared/messages.js";
import { listJobs, onJobsChanged } from "../shared/storage.js";

const $ = (id) => document.getElementById(id);

function stateText(job) {
  if (job.status === "done") {
    return [verdictText(job), probabilityText(job.fakeProbability)].filter(Boolean).join(" · ");
  }
  if (job.status === "failed") return job.error || stageText("failed");
  return `${stageText(job.stage || job.status)} ${Math.round(progressFraction(job.progress) * 100)}%`;
}

function item(job) {
  const li = document.createElement("li");
  li.dataset.key = job.key;
  const source = document.createElement("span");
  source.className = "job-source";
  source.textContent = job.title || job.url || job.pageUrl || "Video";
  source.title = job.url || "";
  const state = document.createElement("span");
  state.className = "job-state";
  state.dataset.status = job.status || "";
  state.dataset.verdict = job.verdict || "";
  state.textContent = stateText(job);
  li.append(source, state);
  if (/^https?:\/\//.test(job.resultUrl || "")) {
    const link = document.createElement("a");
    link.href = job.resultUrl;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    link.textContent = " Open result";
    li.append(link);
  }
  return li;
}

function show(jobs) {
  $("jobs").replaceChildren(...jobs.map(item));
  $("empty").hidden = jobs.length > 0;
}

$("check").addEventListener("click", () => {
  $("message").textContent = "";
  ext.runtime.sendMessage({ type: MSG.CHECK_ACTIVE_TAB }).then((reply) => {
    if (reply && !reply.ok) $("message").textContent = reply.error;
  });
});
$("options").addEventListener("click", (event) => {
  event.preventDefault();
  ext.runtime.openOptionsPage();
});

onJobsChanged(show);
listJobs().then(show);
