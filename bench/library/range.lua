-- wrk script: GET a random 1 MiB range of a file of `size` bytes (set by the caller).
-- ALIGNED=1 starts every range at a multiple of 1 MiB; otherwise at any byte, as a player
-- seeking in a movie asks.
local size = tonumber(os.getenv("BENCH_FILE_SIZE"))
local aligned = os.getenv("ALIGNED") == "1"
local chunk = 1048576
math.randomseed(os.time())
request = function()
  local first
  if aligned then
    first = math.random(0, size / chunk - 1) * chunk
  else
    first = math.random(0, size - chunk)
  end
  return wrk.format("GET", nil, { ["Range"] = "bytes=" .. first .. "-" .. (first + chunk - 1) })
end
