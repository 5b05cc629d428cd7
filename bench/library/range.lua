-- wrk script: GET a random 1 MiB range of a file of `size` bytes (set by the caller).
local size = tonumber(os.getenv("BENCH_FILE_SIZE"))
local chunk = 1048576
math.randomseed(os.time())
request = function()
  local first = math.random(0, size / chunk - 1) * chunk
  return wrk.format("GET", nil, { ["Range"] = "bytes=" .. first .. "-" .. (first + chunk - 1) })
end
