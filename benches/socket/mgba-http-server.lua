-- mgba-http-server.lua: the mGBA-http socket protocol served by a Lua script
-- running inside mGBA's own scripting engine -- the baseline design that
-- pmd-agent is measured against. Written for this project from the
-- protocol's description (shared/reference/socket-baseline.md); it does
-- what the original server does, the way a Lua script in mGBA has to:
--
--   * plain TCP, one text request per "<|END|>"-terminated message;
--   * sockets are polled once per frame by mGBA's socket library;
--   * bytes travel as comma-separated lowercase hex, built one byte at a
--     time with string.format, as the original does (this is the cost the
--     baseline is about);
--   * replies: the result as text, "<|SUCCESS|>" when there is none (nil or
--     false, as the original's `tostring(value or "<|SUCCESS|>")`),
--     "<|ERROR|>" when the command fails or is unknown;
--   * key presses (tap/hold) are applied by a frame callback.
--
-- Where it deliberately differs from the original (bugs, not design): a
-- reply the socket cannot take at once is kept and sent over the next
-- frames instead of being cut short, and a client that closes is noticed
-- even when mGBA reports the close as "temporary failure".
--
-- Run it headless:   pmd-agent script benches/socket/mgba-http-server.lua
-- or in mGBA's desktop app (Tools > Scripting > File > Load script).
--
-- Environment: MGBA_HTTP_PORT (default 8888), MGBA_HTTP_BIND (default: all
-- interfaces, as the original), MGBA_HTTP_LOG = debug|info|warn|error|none
-- (default info, as the original: every request and reply is logged).

local TERMINATOR <const> = "<|END|>"
local SUCCESS <const> = "<|SUCCESS|>"
local FAILURE <const> = "<|ERROR|>"
local DEFAULT_TAP_FRAMES <const> = 15

local port = tonumber(os.getenv("MGBA_HTTP_PORT") or "") or 8888
local bindAddress = os.getenv("MGBA_HTTP_BIND")
local LEVELS <const> = { debug = 1, info = 2, warn = 3, error = 4, none = 5 }
local logLevel = LEVELS[os.getenv("MGBA_HTTP_LOG") or "info"] or LEVELS.info

-- ---------------------------------------------------------------------------
-- Logging (to mGBA's console; lines are cut at 500 characters)

local function clip(text)
  text = tostring(text)
  if #text > 500 then
    return text:sub(1, 497) .. "..."
  end
  return text
end

local function logAt(level, ...)
  if level < logLevel then
    return
  end
  local parts = table.pack(...)
  for i = 1, parts.n do
    parts[i] = clip(parts[i])
  end
  local line = "[" .. os.date("%X") .. "] " .. table.concat(parts, "", 1, parts.n)
  if level >= LEVELS.error then
    console:error(line)
  elseif level >= LEVELS.warn then
    console:warn(line)
  else
    console:log(line)
  end
end

-- ---------------------------------------------------------------------------
-- Text encodings of the protocol

local function split(text, separator)
  local fields = {}
  for field in text:gmatch("([^" .. separator .. "]+)") do
    fields[#fields + 1] = field
  end
  return fields
end

-- Bytes -> "0a,ff,..." one byte at a time with table.insert and
-- string.format, then one table.concat: the original's algorithm, kept
-- as is because its cost is what the baseline measures.
local function toHex(bytes)
  local out = {}
  for i = 1, #bytes do
    table.insert(out, string.format("%02x", bytes:byte(i)))
  end
  return table.concat(out, ",")
end

-- "[0a,ff,...]" -> bytes.
local function fromHexList(text)
  local inner = text:match("^%[(.*)%]$")
  if not inner then
    error("not a [..] byte list")
  end
  local bytes = {}
  for item in inner:gmatch("([^,]+)") do
    local value = tonumber(item, 16)
    if not value or value < 0 or value > 255 then
      error("bad byte " .. item)
    end
    bytes[#bytes + 1] = string.char(value)
  end
  return table.concat(bytes)
end

-- Request text -> command name and arguments. Fields are split on commas,
-- empty ones dropped; a first argument starting with "[" runs to its
-- matching "]" (a byte list may contain commas).
local function parseRequest(text)
  local name, rest = text:match("^([^,]+),(.*)$")
  if rest and rest:sub(1, 1) == "[" then
    local depth, close = 0, nil
    for i = 1, #rest do
      local c = rest:sub(i, i)
      if c == "[" then
        depth = depth + 1
      elseif c == "]" then
        depth = depth - 1
        if depth == 0 then
          close = i
          break
        end
      end
    end
    if not close then
      return name, {}
    end
    local args = { rest:sub(1, close) }
    for _, field in ipairs(split(rest:sub(close + 1), ",")) do
      args[#args + 1] = field
    end
    return name, args
  end
  local fields = split(text, ",")
  name = table.remove(fields, 1)
  return name, fields
end

local function number(text)
  local value = tonumber(text)
  if value == nil then
    error("not a number: " .. tostring(text))
  end
  return value
end

-- An optional numeric argument, checked when present. (mGBA's bindings
-- take a missing argument as "use the default" but an explicit nil as an
-- error, so callers pass it only when it is there.)
local function optionalNumber(text)
  if text == nil then
    return nil
  end
  return number(text)
end

-- ---------------------------------------------------------------------------
-- Buttons: names as the protocol spells them (case-sensitive)

local KEYS <const> = {
  A = 0, B = 1, Select = 2, Start = 3, Right = 4,
  Left = 5, Up = 6, Down = 7, R = 8, L = 9,
}

-- "A;B" -> bitmask. Like the original, an unknown name ends the list
-- silently (the weakness the Rust server fixes).
local function keyMask(names)
  local mask = 0
  local list = split(names or "", ";")
  for i = 1, #list do
    local bit = KEYS[list[i]]
    if bit == nil then
      break
    end
    mask = mask | (1 << bit)
  end
  return mask
end

local function keyBit(name)
  local bit = KEYS[name]
  if bit == nil then
    error("unknown key " .. tostring(name))
  end
  return bit
end

-- Presses waiting for or being held by the frame callback: each is held
-- from the first frame at or after `from` until the frame after `to`.
local presses = {}

local function press(mask, frames)
  local from = emu:currentFrame()
  presses[#presses + 1] = { mask = mask, from = from, to = from + frames + 1, down = false }
end

local function updatePresses()
  local now = emu:currentFrame()
  local kept = {}
  for _, p in ipairs(presses) do
    if now > p.to then
      emu:clearKeys(p.mask)
    else
      if now >= p.from and not p.down then
        emu:addKeys(p.mask)
        p.down = true
      end
      kept[#kept + 1] = p
    end
  end
  presses = kept
end

local function pressedNames()
  local keys = emu:getKeys()
  local names = {}
  for name, bit in pairs(KEYS) do
    if keys & (1 << bit) ~= 0 then
      names[#names + 1] = name
    end
  end
  return table.concat(names, ",")
end

-- ---------------------------------------------------------------------------
-- Commands: name -> function(args) returning the reply value (nil = none)

local function domain(name)
  local d = emu.memory[name]
  if d == nil then
    error("unknown memory domain " .. tostring(name))
  end
  return d
end

local function checksum()
  local value = 0
  for _, b in ipairs({ emu:checksum(C.CHECKSUM.CRC32):byte(1, 4) }) do
    value = value * 256 + b
  end
  return value
end

local commands = {
  -- mgba-http.button.*
  ["mgba-http.button.add"] = function(a) emu:addKey(keyBit(a[1])) end,
  ["mgba-http.button.addMany"] = function(a) emu:addKeys(keyMask(a[1])) end,
  ["mgba-http.button.clear"] = function(a) emu:clearKey(keyBit(a[1])) end,
  ["mgba-http.button.clearMany"] = function(a) emu:clearKeys(keyMask(a[1])) end,
  ["mgba-http.button.get"] = function(a) return emu:getKey(keyBit(a[1])) end,
  ["mgba-http.button.getAll"] = function() return pressedNames() end,
  ["mgba-http.button.tap"] = function(a) press(keyMask(a[1]), DEFAULT_TAP_FRAMES) end,
  ["mgba-http.button.tapMany"] = function(a) press(keyMask(a[1]), DEFAULT_TAP_FRAMES) end,
  ["mgba-http.button.hold"] = function(a) press(keyMask(a[1]), optionalNumber(a[2]) or DEFAULT_TAP_FRAMES) end,
  ["mgba-http.button.holdMany"] = function(a) press(keyMask(a[1]), optionalNumber(a[2]) or DEFAULT_TAP_FRAMES) end,

  -- core.*
  ["core.addKey"] = function(a) emu:addKey(number(a[1])) end,
  ["core.addKeys"] = function(a) emu:addKeys(number(a[1])) end,
  ["core.clearKey"] = function(a) emu:clearKey(number(a[1])) end,
  ["core.clearKeys"] = function(a) emu:clearKeys(number(a[1])) end,
  ["core.getKey"] = function(a) return emu:getKey(number(a[1])) end,
  ["core.getKeys"] = function() return emu:getKeys() end,
  ["core.setKeys"] = function(a) emu:setKeys(number(a[1])) end,
  ["core.autoloadSave"] = function() return emu:autoloadSave() end,
  ["core.checksum"] = function() return checksum() end,
  ["core.currentFrame"] = function() return emu:currentFrame() end,
  ["core.frameCycles"] = function() return emu:frameCycles() end,
  ["core.frequency"] = function() return emu:frequency() end,
  ["core.getGameCode"] = function() return emu:getGameCode() end,
  ["core.getGameTitle"] = function() return emu:getGameTitle() end,
  ["core.platform"] = function() return emu:platform() end,
  ["core.romSize"] = function() return emu:romSize() end,
  ["core.loadFile"] = function(a) return emu:loadFile(a[1]) end,
  ["core.loadSaveFile"] = function(a) return emu:loadSaveFile(a[1], a[2] == "true") end,
  ["core.read8"] = function(a) return emu:read8(number(a[1])) end,
  ["core.read16"] = function(a) return emu:read16(number(a[1])) end,
  ["core.read32"] = function(a) return emu:read32(number(a[1])) end,
  ["core.readRange"] = function(a) return toHex(emu:readRange(number(a[1]), number(a[2]))) end,
  ["core.write8"] = function(a) emu:write8(number(a[1]), number(a[2])) end,
  ["core.write16"] = function(a) emu:write16(number(a[1]), number(a[2])) end,
  ["core.write32"] = function(a) emu:write32(number(a[1]), number(a[2])) end,
  ["core.readRegister"] = function(a) return emu:readRegister(a[1]) end,
  ["core.writeRegister"] = function(a) emu:writeRegister(a[1], number(a[2])) end,
  ["core.saveStateBuffer"] = function(a)
    if a[1] then return toHex(emu:saveStateBuffer(number(a[1]))) end
    return toHex(emu:saveStateBuffer())
  end,
  ["core.loadStateBuffer"] = function(a)
    if a[2] then return emu:loadStateBuffer(fromHexList(a[1]), number(a[2])) end
    return emu:loadStateBuffer(fromHexList(a[1]))
  end,
  ["core.saveStateFile"] = function(a)
    if a[2] then return emu:saveStateFile(a[1], number(a[2])) end
    return emu:saveStateFile(a[1])
  end,
  ["core.loadStateFile"] = function(a)
    if a[2] then return emu:loadStateFile(a[1], number(a[2])) end
    return emu:loadStateFile(a[1])
  end,
  ["core.saveStateSlot"] = function(a)
    if a[2] then return emu:saveStateSlot(number(a[1]), number(a[2])) end
    return emu:saveStateSlot(number(a[1]))
  end,
  ["core.loadStateSlot"] = function(a)
    if a[2] then return emu:loadStateSlot(number(a[1]), number(a[2])) end
    return emu:loadStateSlot(number(a[1]))
  end,
  ["core.screenshot"] = function(a)
    if a[1] then emu:screenshot(a[1]) else emu:screenshot() end
  end,
  ["core.step"] = function() emu:step() end,

  -- coreAdapter.*
  ["coreAdapter.reset"] = function() emu:reset() end,
  ["coreAdapter.memory"] = function()
    local names = {}
    for name in pairs(emu.memory) do
      names[#names + 1] = name
    end
    return table.concat(names, ",")
  end,

  -- memoryDomain.*: offsets relative to the domain, wrapping as mGBA's do
  ["memoryDomain.base"] = function(a) return domain(a[1]):base() end,
  ["memoryDomain.bound"] = function(a) return domain(a[1]):bound() end,
  ["memoryDomain.name"] = function(a) return domain(a[1]):name() end,
  ["memoryDomain.size"] = function(a) return domain(a[1]):size() end,
  ["memoryDomain.read8"] = function(a) return domain(a[1]):read8(number(a[2])) end,
  ["memoryDomain.read16"] = function(a) return domain(a[1]):read16(number(a[2])) end,
  ["memoryDomain.read32"] = function(a) return domain(a[1]):read32(number(a[2])) end,
  ["memoryDomain.readRange"] = function(a) return toHex(domain(a[1]):readRange(number(a[2]), number(a[3]))) end,
  ["memoryDomain.write8"] = function(a) domain(a[1]):write8(number(a[2]), number(a[3])) end,
  ["memoryDomain.write16"] = function(a) domain(a[1]):write16(number(a[2]), number(a[3])) end,
  ["memoryDomain.write32"] = function(a) domain(a[1]):write32(number(a[2]), number(a[3])) end,

  -- console.*
  ["console.log"] = function(a) console:log(tostring(a[1])) end,
  ["console.warn"] = function(a) console:warn(tostring(a[1])) end,
  ["console.error"] = function(a) console:error(tostring(a[1])) end,
}

local function answer(text)
  if text == "" then
    logAt(LEVELS.error, "empty request")
    return FAILURE
  end
  local name, args = parseRequest(text)
  local handler = name and commands[name]
  if handler == nil then
    logAt(LEVELS.error, "unknown command: ", text)
    return FAILURE
  end
  logAt(LEVELS.info, "Received: ", text)
  local ok, value = pcall(handler, args)
  if not ok then
    logAt(LEVELS.error, "command failed: ", text, ": ", value)
    return FAILURE
  end
  local reply = tostring(value or SUCCESS)
  logAt(LEVELS.info, "Returning: ", reply)
  return reply
end

-- ---------------------------------------------------------------------------
-- Connections

local server = nil
local clients = {}
local nextClient = 1

local function disconnect(id)
  local client = clients[id]
  clients[id] = nil
  if client then
    client.sock:close()
    logAt(LEVELS.debug, "client ", id, " disconnected")
  end
end

-- Sends what the socket takes now; the rest waits for the next frame.
local function flush(id)
  local client = clients[id]
  while client and #client.outbox > 0 do
    local sent, err = client.sock:send(client.outbox)
    if sent == nil then
      if err ~= socket.ERRORS.AGAIN then
        logAt(LEVELS.warn, "client ", id, ": send failed: ", err)
        disconnect(id)
      end
      return
    end
    if sent <= 0 then
      return
    end
    client.outbox = client.outbox:sub(sent + 1)
  end
end

local function received(id)
  local client = clients[id]
  if not client then
    return
  end
  local got = false
  while true do
    local chunk, err = client.sock:receive(1024)
    if chunk then
      got = true
      client.inbox = client.inbox .. chunk
      while true do
        local from, to = client.inbox:find(TERMINATOR, 1, true)
        if not from then
          break
        end
        local text = client.inbox:sub(1, from - 1):match("^(.-)%s*$")
        client.inbox = client.inbox:sub(to + 1)
        client.outbox = client.outbox .. answer(text) .. TERMINATOR
        flush(id)
        client = clients[id]
        if not client then
          return
        end
      end
    else
      -- Readable but nothing to read is a close, whatever mGBA calls it.
      if err ~= socket.ERRORS.AGAIN or not got then
        disconnect(id)
      end
      return
    end
  end
end

local function accept()
  local sock, err = server:accept()
  if not sock then
    logAt(LEVELS.error, "accept failed: ", err)
    return
  end
  local id = nextClient
  nextClient = nextClient + 1
  clients[id] = { sock = sock, inbox = "", outbox = "" }
  sock:add("received", function() received(id) end)
  sock:add("error", function() disconnect(id) end)
  logAt(LEVELS.debug, "client ", id, " connected")
end

callbacks:add("frame", function()
  updatePresses()
  for id, client in pairs(clients) do
    if #client.outbox > 0 then
      flush(id)
    end
  end
end)

local function listen()
  local sock, err = socket.bind(bindAddress, port)
  if not sock then
    error("cannot bind port " .. port .. ": " .. tostring(err))
  end
  local ok, lerr = sock:listen()
  if not ok then
    sock:close()
    error("cannot listen on port " .. port .. ": " .. tostring(lerr))
  end
  server = sock
  server:add("received", accept)
  if logLevel < LEVELS.none then
    console:log("mgba-http-server listening on port " .. port)
  end
end

listen()
