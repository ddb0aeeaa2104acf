-- wrk script for the gateway benchmarks: every request carries "Authorization: Bearer <token>"
-- with a token drawn at random from the file named by $TOKENS_FILE (one per line). The same
-- script drives the nginx references, so both sides pay the same client cost.
local tokens = {}

function init(args)
  for line in io.lines(os.getenv("TOKENS_FILE")) do
    tokens[#tokens + 1] = "Bearer " .. line
  end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end

function request()
  return wrk.format("GET", wrk.path, { ["Authorization"] = tokens[math.random(#tokens)] })
end
