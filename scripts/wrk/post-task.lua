-- wrk script: POST /api/v1/tasks with a distinct title per request, for measuring a running
-- `taskpilot serve` from outside (docs/PERFORMANCE.md):
--   wrk -t2 -c64 -d10s -s scripts/wrk/post-task.lua http://127.0.0.1:PORT
-- Each wrk thread numbers its requests; the titles are "wrk task THREAD-N". Answers other
-- than 2xx are counted by wrk itself ("Non-2xx or 3xx responses").

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

local counter = 0

function request()
  counter = counter + 1
  local body = string.format(
    '{"title":"wrk task %d-%d","priority":"medium","description":"created by wrk"}',
    tid or 0, counter)
  return wrk.format("POST", "/api/v1/tasks", { ["Content-Type"] = "application/json" }, body)
end
