-- wrk script for the autosave POST. Each of wrk's threads writes the strands of its own handbook
-- (bench/run gives thread N the file autosave-N.txt: the cookie, the CSRF token, then one line
-- per strand "path version"). A strand is sent only when no save of it is in flight, with the
-- version of its last save, as the handbook page's autosave does; the answer names the strand and
-- its new version. A conflict would be a non-2xx answer and shows in the errors column.
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("file", os.getenv("AUTOSAVE_DIR") .. "/autosave-" .. counter .. ".txt")
end

local cookie, token, body_tail
local free, version, path_of = {}, {}, {}
local origin = os.getenv("AUTOSAVE_ORIGIN")

local function encode(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function init(args)
  local f = assert(io.open(file))
  cookie = f:read("*l")
  token = f:read("*l")
  for line in f:lines() do
    local path, v = line:match("^(%S+) (%d+)$")
    if path then
      local key = path:match("/strands/([^/]+)$")
      path_of[key] = path
      version[key] = tonumber(v)
      table.insert(free, key)
    end
  end
  f:close()
  local text = string.rep("Daily first-day calling is led by the attendance officer, with weekly review of persistent absence. ", 12)
  body_tail = "&actions=" .. encode(text) .. "&impact=" .. encode(text)
end

function request()
  local key = table.remove(free, 1)
  if key == nil then
    -- More connections than strands in this thread: should not happen with bench/run's settings.
    error("no strand free to save")
  end
  local body = "csrf_token=" .. encode(token) .. "&version=" .. version[key] .. body_tail
  return wrk.format("POST", path_of[key], {
    ["Cookie"] = cookie,
    ["Origin"] = origin,
    ["Accept"] = "application/json",
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body)
end

function response(status, headers, body)
  local key = body:match('"strand":"([^"]+)"')
  if key == nil then return end
  local v = body:match('"version":(%d+)')
  if v then version[key] = tonumber(v) end
  table.insert(free, key)
end
