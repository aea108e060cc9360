-- Correios (Brazil).
--
-- Talks to the current REST API (token from /token/v1/autentica/cartaopostagem,
-- events from /srorastro/v1/objetos) and also reads the shapes older
-- integrations recorded: the SRO JSON ({numero, evento[]}, optionally wrapped
-- in {objeto: [...]}) and the SOAP SRO XML (buscaEventosListaResponse).
-- Every Correios time is Brasília wall time without an offset.

local ZONE = "America/Sao_Paulo"

---------------------------------------------------------------------------
-- Status table: "CODIGO:TIPO" first (tipo as 2 digits), then "CODIGO".
-- Correios' event code is `codigo` (REST) / `tipo` (SRO JSON and XML); the
-- 2-digit number beside it is `tipo` (REST) / `status` (SRO). Descriptions in
-- the comments are Correios' own wording for that pair.
---------------------------------------------------------------------------
local STATUS = {
  -- Posting, transfers, sorting: the parcel is in Correios' hands and moving.
  -- PO is "in_transit", not "info_received": it is the physical acceptance scan.
  ["PO"] = "in_transit",          -- 01 Objeto postado; 09 postado após o horário limite (segue no próximo dia útil)
  ["RO"] = "in_transit",          -- Objeto encaminhado / em trânsito
  ["DO"] = "in_transit",          -- Objeto encaminhado (entre unidades)
  ["TRI"] = "in_transit",         -- Objeto encaminhado (triagem)
  ["PMT"] = "in_transit",         -- Objeto encaminhado (older manuals)
  ["CD"] = "in_transit",          -- Objeto recebido na unidade dos Correios
  ["CMT"] = "in_transit",         -- idem
  ["CUN"] = "in_transit",         -- idem
  ["CAR"] = "in_transit",         -- Conferido (recebido na unidade de destino)
  ["CMR"] = "in_transit",         -- Conferido
  ["CO"] = "in_transit",          -- 01 Objeto coletado (reverse logistics / pickups)
  ["CO:02"] = "info_received",    -- A coletar: a pickup is ordered, the parcel is not with Correios yet
  ["CO:03"] = "info_received",    -- Coletando
  ["CO:07"] = "info_received",    -- Aguardando objeto na agência
  ["CO:09"] = "exception",        -- Coleta cancelada
  ["CO:13"] = "exception",        -- Objeto não coletado

  -- Out for delivery.
  ["OEC"] = "out_for_delivery",   -- 01 Objeto saiu para entrega ao destinatário
  ["OEC:09"] = "out_for_delivery", -- Objeto saiu para entrega ao REMETENTE: the return leg, still out for delivery
  -- LDE: every manual transcription we have reads "Objeto saiu para entrega ao
  -- remetente" (LDE 09), i.e. out for delivery on the return leg, not a pickup.
  ["LDE"] = "out_for_delivery",

  -- Waiting for the addressee to collect it.
  ["LDI"] = "available_for_pickup", -- 01/03/04 Objeto aguardando retirada no endereço indicado; 02 em Caixa Postal
  ["LDI:11"] = "in_transit",      -- Objeto encaminhado PARA retirada: on its way to the pickup point
  ["LDI:13"] = "in_transit",      -- idem
  ["LDI:14"] = "in_transit",      -- idem (older manuals called 14 "aguardando retirada"; the newer text wins)

  -- "Favor desconsiderar a informação anterior": withdraws the event before it
  -- (events also get retracts_previous = true). The status it carries is neutral.
  ["EST"] = "in_transit",

  -- Customs / international (PAR). Default: informational steps of an import.
  ["PAR"] = "in_transit",         -- 10 fiscalização finalizada, 15 recebido em <destino>, 16 recebido no Brasil,
                                  -- 18 recebido na unidade de exportação no país de origem, 21 encaminhado para
                                  -- fiscalização, 31 pagamento confirmado, 34 liberado sem tributação, 42 liberado...
  ["PAR:11"] = "exception",       -- Aguardando pagamento (newer numbering): the addressee must pay import taxes
  ["PAR:17"] = "exception",       -- Aguardando pagamento: nothing moves until the addressee pays
  ["PAR:13"] = "returned_to_sender", -- Objeto devolvido ao país de origem: Brazilian tracking ends here
  ["PAR:20"] = "exception",       -- Recebido com embalagem danificada
  ["PAR:23"] = "exception",       -- Aguardando autorização da Receita Federal para devolução ao remetente
  ["PAR:24"] = "exception",       -- Devolução autorizada pela Receita Federal (return leg starts; not final)
  ["PAR:25"] = "exception",       -- Faltam informações. Sua ação é necessária
  ["PAR:26"] = "exception",       -- Destinatário recusou o objeto - em análise de destinação
  ["PAR:30"] = "exception",       -- Aguardando pagamento do despacho postal
  ["PAR:33"] = "exception",       -- Pagamento não confirmado pela operadora
  ["PAR:40"] = "exception",       -- Devolução a pedido do cliente (return leg starts; not final)
  ["PAR:41"] = "exception",       -- Prazo de pagamento encerrado - em análise de destinação

  -- FC: "fora do curso" handling notes. Default: informational ("em tratamento, aguarde").
  ["FC"] = "in_transit",          -- 02 entrega agendada, 03 mal encaminhado (being corrected), 08 área com prazo
                                  -- diferenciado, 10 recebido na unidade de distribuição, 12-37 encaminhado para
                                  -- fiscalização (ANVISA, ANATEL, Receita...), 55 encomenda unitizada finalizada
  ["FC:01"] = "exception",        -- Será devolvido por solicitação do remetente (return starts; not final)
  ["FC:04"] = "attempt_failed",   -- A entrega não pode ser efetuada - Endereço incorreto
  ["FC:05"] = "exception",        -- Objeto devolvido aos Correios
  ["FC:07"] = "attempt_failed",   -- A entrega não pode ser efetuada - Empresa sem expediente
  ["FC:09"] = "exception",        -- Remetente não retirou objeto na unidade - em análise de destinação
  ["FC:11"] = "exception",        -- Objeto destruído com autorização do remetente
  ["FC:29"] = "exception",        -- Objeto encaminhado para apreensão
  ["FC:41"] = "exception",        -- Problemas na documentação - procure a agência de postagem
  ["FC:42"] = "exception",        -- Objeto contém líquido, impossibilitando seu transporte
  ["FC:47"] = "exception",        -- Será devolvido por solicitação do contratante/remetente
  ["FC:51"] = "exception",        -- Objeto roubado

  -- Blocks and indemnities.
  ["BLQ"] = "exception",          -- Entrega bloqueada / suspensão de entrega a pedido do remetente
  ["BLQ:24"] = "in_transit",      -- Desbloqueio de objeto indenizado
  ["BLQ:44"] = "in_transit",      -- Desbloqueio de objeto com conteúdo proibido/perigoso
  ["BLQ:54"] = "in_transit",      -- Desbloqueio de objeto com revisão de impostos
  ["BLQ:61"] = "in_transit",      -- Desbloqueado
  ["IDC"] = "exception",          -- Objeto não localizado - houve indenização
}

-- BDE / BDI / BDR ("baixa": the delivery-office outcome; E = externa, I =
-- interna/balcão, R = caixa postal/retorno). Same tipo numbers for the three.
-- No plain "BDE" default on purpose: their meaning is entirely in the tipo, so
-- an unknown tipo is logged and gets the global default.
-- Principle: the carrier went to the door and could not deliver =
-- attempt_failed, whether a retry or a return follows (the detail says which;
-- a return only becomes returned_to_sender, which is terminal, at BDE 23).
-- Held, damaged, seized, lost, or a return that starts without an attempt =
-- exception.
local BAIXA = {
  ["00"] = "delivered",           -- Objeto entregue ao destinatário (older numbering)
  ["01"] = "delivered",           -- Objeto entregue ao destinatário
  ["02"] = "attempt_failed",      -- Carteiro não atendido - aguarde: disponível para retirada na unidade a ser informada
  ["03"] = "exception",           -- Remetente não retirou objeto na unidade - em análise de destinação
  ["04"] = "attempt_failed",      -- Cliente recusou-se a receber - será devolvido ao remetente
  ["05"] = "attempt_failed",      -- A entrega não pode ser efetuada - será devolvido ao remetente
  ["06"] = "attempt_failed",      -- Cliente desconhecido no local - será devolvido ao remetente
  ["07"] = "attempt_failed",      -- Endereço incorreto - sujeito a atraso na entrega ou a devolução
  ["08"] = "attempt_failed",      -- Endereço incorreto - será devolvido ao remetente
  ["09"] = "in_transit",          -- Objeto ainda não chegou à unidade - aguarde (older manuals: "não localizado")
  ["10"] = "attempt_failed",      -- Cliente mudou-se - será devolvido ao remetente
  ["12"] = "exception",           -- Remetente não retirou objeto na unidade - em análise de destinação
  ["13"] = "exception",           -- Objeto atingido por incêndio em unidade operacional
  ["14"] = "exception",           -- Desistência de postagem pelo remetente
  ["15"] = "in_transit",          -- Recebido na unidade de distribuição - por determinação judicial, entrega em até 7 dias
  ["18"] = "attempt_failed",      -- Carteiro não atendido - nova tentativa no sábado
  ["19"] = "attempt_failed",      -- Endereço incorreto - sujeito a atraso na entrega ou a devolução
  ["20"] = "attempt_failed",      -- Carteiro não atendido - será realizada nova tentativa de entrega
  ["21"] = "attempt_failed",      -- Carteiro não atendido - será devolvido ao remetente
  ["22"] = "exception",           -- Objeto devolvido aos Correios (handed back after leaving the network)
  ["23"] = "returned_to_sender",  -- Objeto devolvido / entregue ao remetente: final
  ["24"] = "available_for_pickup", -- Objeto disponível para retirada em Caixa Postal
  ["25"] = "attempt_failed",      -- Empresa sem expediente - entrega no próximo dia útil
  ["26"] = "exception",           -- Destinatário não retirou no prazo - será devolvido (no attempt; return not final yet)
  ["28"] = "exception",           -- Objeto e/ou conteúdo avariado
  ["29"] = "exception",           -- Objeto não localizado
  ["30"] = "in_transit",          -- Saída não efetuada - em tratamento, aguarde
  ["31"] = "in_transit",          -- Pagamento confirmado - entrega em até 40 dias úteis
  ["32"] = "in_transit",          -- Objeto com data de entrega agendada
  ["33"] = "attempt_failed",      -- Destinatário não apresentou documento exigido - será devolvido
  ["34"] = "attempt_failed",      -- Logradouro com numeração irregular - sujeito a atraso ou devolução
  ["35"] = "attempt_failed",      -- Coleta ou entrega não efetuada - nova tentativa
  ["36"] = "attempt_failed",      -- Coleta ou entrega não efetuada - será devolvido
  ["37"] = "exception",           -- Objeto e/ou conteúdo avariado por acidente com veículo
  ["38"] = "exception",           -- Endereçado à empresa falida - vai ao administrador judicial
  ["39"] = "exception",           -- A entrega não pode ser efetuada - em análise de destinação
  ["40"] = "exception",           -- Importação não autorizada pelos órgãos fiscalizadores
  ["41"] = "exception",           -- Entrega condicionada à composição do lote (held)
  ["42"] = "exception",           -- Lote de objetos incompleto - em devolução ao remetente
  ["43"] = "exception",           -- Apreendido por órgão de fiscalização
  ["44"] = "exception",           -- Aguardando órgão anuente apresentar documentação fiscal (held)
  ["45"] = "in_transit",          -- Recebido na unidade de distribuição - entrega prevista no próximo dia útil
  ["46"] = "attempt_failed",      -- Tentativa de entrega não efetuada - entrega no próximo dia útil
  ["47"] = "in_transit",          -- Saída para entrega cancelada - nova saída será feita (no attempt happened)
  ["48"] = "exception",           -- Retirada em unidade não autorizada pelo remetente - será devolvido
  ["49"] = "exception",           -- Dimensões impossibilitam o tratamento e a entrega - será devolvido
  ["50"] = "exception",           -- Objeto roubado
  ["51"] = "exception",           -- Objeto roubado
  ["52"] = "exception",           -- Objeto roubado
  ["53"] = "in_transit",          -- Objeto reimpresso e reenviado
  ["54"] = "exception",           -- Pagamento do ICMS Importação necessário / aguardando a guia
  ["55"] = "exception",           -- Revisão do tributo solicitada (held until it is decided)
  ["56"] = "exception",           -- Declaração aduaneira ausente ou incorreta
  ["57"] = "in_transit",          -- Revisão de tributo concluída - objeto liberado
  ["58"] = "in_transit",          -- Revisão de tributo concluída - tributo alterado
  ["59"] = "in_transit",          -- Revisão de tributo concluída - tributo mantido
  ["60"] = "exception",           -- Aguardando prazo para refugo
  ["61"] = "exception",           -- Objeto refugado
  ["62"] = "exception",           -- Em devolução à origem por determinação da Receita Federal
  ["63"] = "exception",           -- Pagamento não efetuado no prazo - em análise de destinação
  ["64"] = "exception",           -- Solicitação de dados não atendida - será devolvido
  ["66"] = "in_transit",          -- Área com distribuição sujeita a prazo diferenciado (informational)
  ["67"] = "delivered",           -- Entregue ao destinatário em endereço vizinho, autorizado pelo remetente
  -- 68: older manuals "aguardando retirada em armário inteligente", newer
  -- "entregue na Caixa de Correios Inteligente". Pickup is the safe reading:
  -- it keeps polling, where "delivered" would stop it too early.
  ["68"] = "available_for_pickup",
  ["69"] = "in_transit",          -- Objeto com atraso na entrega / ainda não chegou à unidade
  ["70"] = "delivered",           -- Objeto entregue ao destinatário (newer numbering)
  ["71"] = "exception",           -- Apreendido por ANVISA/Vigilância Sanitária
  ["72"] = "exception",           -- Apreendido por Bombeiros
  ["73"] = "exception",           -- Apreendido por Exército
  ["74"] = "exception",           -- Apreendido por IBAMA
  ["75"] = "exception",           -- Apreendido por Polícia Federal
  ["76"] = "exception",           -- Apreendido por Polícia Civil/Militar
  ["77"] = "exception",           -- Evento RFB - aguardando DTRAT
  ["79"] = "exception",           -- Postagem inexistente
  ["80"] = "exception",           -- Objeto extraviado / não localizado no fluxo postal
  ["81"] = "exception",           -- Saída do país não autorizada pelos órgãos fiscalizadores
  ["82"] = "exception",           -- Necessário complementar endereço de entrega
  ["83"] = "exception",           -- Ação necessária à liberação do objeto não realizada
  ["84"] = "in_transit",          -- Verificando situação do objeto - aguarde
  ["85"] = "in_transit",          -- Código fora do padrão - será entregue sem rastreamento
  ["86"] = "exception",           -- Conteúdo avariado - sem condições de entrega
  ["87"] = "exception",           -- Objeto destinado a outro país (mis-sorted)
  ["89"] = "exception",           -- Localidade desconhecida no Brasil - será devolvido
  ["98"] = "exception",           -- Objeto não localizado no fluxo postal
}
for tipo, status in pairs(BAIXA) do
  STATUS["BDE:" .. tipo] = status
  STATUS["BDI:" .. tipo] = status
  STATUS["BDR:" .. tipo] = status
end

-- Unknown codes: Correios adds codes over time, and every event is a scan of
-- a parcel it holds, so "in_transit" is the honest default. It is not
-- terminal, so polling goes on and the next known event corrects it; the
-- carrier's code and text travel with the event. Each unknown pair is logged.
local DEFAULT_STATUS = "in_transit"

-- Brazilian states (unidade federativa).
local UF = {}
for uf in ("AC AL AP AM BA CE DF ES GO MA MT MS MG PA PB PR PE PI RJ RN RS RO RR SC SP SE TO"):gmatch("%u%u") do
  UF[uf] = true
end

-- Country units ("tipo": "País") carry codSro/codigo "00" .. ISO 3166-1
-- numeric .. "000" (SUECIA 00752000, DINAMARCA 00208000 in recorded bodies).
local ISO_NUMERIC = {
  ["032"] = "AR", ["036"] = "AU", ["040"] = "AT", ["056"] = "BE", ["068"] = "BO", ["076"] = "BR",
  ["124"] = "CA", ["152"] = "CL", ["156"] = "CN", ["158"] = "TW", ["170"] = "CO", ["203"] = "CZ",
  ["208"] = "DK", ["218"] = "EC", ["246"] = "FI", ["250"] = "FR", ["276"] = "DE", ["300"] = "GR",
  ["344"] = "HK", ["348"] = "HU", ["356"] = "IN", ["360"] = "ID", ["372"] = "IE", ["376"] = "IL",
  ["380"] = "IT", ["392"] = "JP", ["410"] = "KR", ["458"] = "MY", ["484"] = "MX", ["528"] = "NL",
  ["554"] = "NZ", ["578"] = "NO", ["600"] = "PY", ["604"] = "PE", ["608"] = "PH", ["616"] = "PL",
  ["620"] = "PT", ["643"] = "RU", ["702"] = "SG", ["704"] = "VN", ["710"] = "ZA", ["724"] = "ES",
  ["752"] = "SE", ["756"] = "CH", ["764"] = "TH", ["784"] = "AE", ["792"] = "TR", ["804"] = "UA",
  ["826"] = "GB", ["840"] = "US", ["858"] = "UY", ["862"] = "VE",
}

local DEFAULT_BASE_URL = "https://api.correios.com.br"

---------------------------------------------------------------------------
-- Small helpers
---------------------------------------------------------------------------

local str = text.clean        -- trimmed text; integral numbers as digits; nil when empty
local tbl = value.table       -- the value when it is a table, else nil
local norm_code = text.code   -- tracking numbers: whitespace removed, uppercase
local short = text.short      -- one line, cut at n bytes (default 120)

-- "1" -> "01"; other text unchanged.
local function two_digits(v)
  local s = str(v)
  if s and s:match("^%d$") then return "0" .. s end
  return s
end

-- "descricao - detalhe" when there is a distinct detail.
local function describe(descricao, detalhe)
  if descricao and detalhe and detalhe ~= descricao then return descricao .. " - " .. detalhe end
  return descricao or detalhe or ""
end

-- The message of a Correios error body: {"msgs": ["..."], ...}, or nil.
local function error_message(body)
  if type(body) ~= "string" or not body:match("^%s*[{%[]") then return nil end
  local doc = json.decode(body)
  if type(doc) ~= "table" then return nil end
  local parts = {}
  local msgs = doc.msgs
  if type(msgs) == "table" then
    for _, m in ipairs(msgs) do
      local s = str(m) or (type(m) == "table" and (str(m.texto) or str(m.mensagem) or str(m.message)))
      if s then parts[#parts + 1] = s end
    end
  elseif str(msgs) then
    parts[1] = str(msgs)
  end
  if #parts == 0 then
    local s = str(doc.mensagem) or str(doc.message) or str(doc.causa) or str(doc.error)
    if s then parts[1] = s end
  end
  if #parts == 0 then return nil end
  return short(table.concat(parts, "; "), 300)
end

-- Status of a Correios event; logs (once per parse) codes this table does not know.
local function status_for(code, tipo, warned)
  local status = (tipo and STATUS[code .. ":" .. tipo]) or STATUS[code]
  if status then return status end
  local key = code .. ":" .. (tipo or "")
  if not warned[key] then
    warned[key] = true
    log.warn("correios: unknown event code, treated as " .. DEFAULT_STATUS, { codigo = code, tipo = tipo or "" })
  end
  return DEFAULT_STATUS
end

-- A location table from Correios fields; nil when nothing is known.
-- postal: a CEP (8 digits; codes starting with 00 are unit codes, not CEPs).
-- unit: the unit's code, which names the country for country units.
local function place(facility, city, district, uf, postal, unit)
  local loc = { facility = facility, city = city, district = district }
  local cep = postal and postal:gsub("%-", "")
  if cep and cep:match("^%d%d%d%d%d%d%d%d$") and not cep:match("^00") then loc.postal = cep end
  uf = uf and uf:upper()
  if uf and UF[uf] then
    loc.state, loc.country = uf, "BR"
  elseif uf and uf:match("^%u%u$") then
    loc.country = uf                      -- a country unit: "uf": "BR" is the country, not a state
  end
  local numeric = unit and unit:match("^00(%d%d%d)000$")
  if numeric and ISO_NUMERIC[numeric] then loc.country = ISO_NUMERIC[numeric] end
  if next(loc) == nil then return nil end
  return loc
end

-- The receiver's name, unless Correios left it blank or "?".
local function receiver(v)
  local s = str(v)
  if not s or s:match("^[%s%?%-%.]*$") then return nil end
  return s
end

-- A tracking result from events listed newest first. `receivers[i]` is the
-- recebedor of event i. Status is the newest event's, skipping EST retractions
-- and the events they withdraw.
local function finish(events, receivers)
  local result = { events = events }
  local pending = 0
  for i, ev in ipairs(events) do
    if ev.retracts_previous then
      pending = pending + 1
    elseif pending > 0 then
      pending = pending - 1
    else
      result.status = ev.status
      if ev.status == "delivered" then
        result.delivered_at = ev.occurred_at
        result.signed_by = receivers[i]
      end
      break
    end
  end
  return result
end

local function new_event(code, tipo, occurred_at, description, location, destination, warned)
  local ev = {
    occurred_at = occurred_at, zone = ZONE,
    status = status_for(code, tipo, warned),
    code = code, subcode = tipo,
    description = description,
    location = location, destination = destination,
  }
  if code == "EST" then ev.retracts_previous = true end
  return ev
end

-- A per-object failure from a REST "mensagem" ("SRO-020: Objeto não encontrado...").
local function message_failure(message)
  local sro = message:match("^%s*(SRO%-%d+)")
  if sro == "SRO-019" then return failure.invalid_number(message, sro) end
  return failure.not_found(message, sro)
end

---------------------------------------------------------------------------
-- REST API: {"objetos": [{codObjeto, eventos: [...], mensagem?}]}
---------------------------------------------------------------------------

local function rest_unit(u)
  u = tbl(u)
  if not u then return nil end
  local addr = tbl(u.endereco) or {}
  -- Domestic units often have no name, only their kind ("Unidade de Distribuição").
  return place(str(u.nome) or str(u.tipo), str(addr.cidade), str(addr.bairro), str(addr.uf),
               str(addr.cep), str(u.codSro))
end

local function rest_event(e, i, warned)
  if type(e) ~= "table" then return nil, ("eventos[%d] is not an object"):format(i) end
  local code = str(e.codigo)
  if not code then return nil, ("eventos[%d] has no 'codigo'"):format(i) end
  code = code:upper()
  local when = str(e.dtHrCriado)
  local at = when and time.parse(when, "iso", ZONE)
  if not at then
    return nil, ("eventos[%d] (%s): cannot read dtHrCriado %s"):format(i, code, when and ("'" .. short(when, 40) .. "'") or "(missing)")
  end
  local ev = new_event(code, two_digits(e.tipo), at, describe(str(e.descricao), str(e.detalhe)),
                       rest_unit(e.unidade), rest_unit(e.unidadeDestino), warned)
  local r = e.recebedor
  return ev, receiver(type(r) == "table" and r.nome or r)
end

local function rest_objeto(o, warned)
  local code = norm_code(o.codObjeto)
  local eventos = o.eventos
  local message = str(o.mensagem)
  if type(eventos) ~= "table" or #eventos == 0 then
    if eventos ~= nil and type(eventos) ~= "table" and eventos ~= json.null then
      return code, failure.broken("'eventos' is not a list", nil)
    end
    if message then return code, message_failure(message) end
    return code, failure.not_found("Correios returned no events for this object", nil)
  end
  local events, receivers = {}, {}
  for i, e in ipairs(eventos) do
    local ev, extra = rest_event(e, i, warned)
    if not ev then return code, failure.broken(extra, nil) end
    events[i], receivers[i] = ev, extra
  end
  local result = finish(events, receivers)
  local forecast = str(o.dtPrevista)                 -- Correios' delivery forecast, Brasília time
  if forecast then result.estimated_delivery = time.parse(forecast, "iso", ZONE) end
  return code, result
end

---------------------------------------------------------------------------
-- Older SRO shapes: JSON {numero, evento[]} and SOAP XML (same fields)
---------------------------------------------------------------------------

local function sro_time(e)
  local data, hora = str(e.data), str(e.hora)
  if data and hora then
    local fmt = hora:match("^%d+:%d+:%d+$") and "%d/%m/%Y %H:%M:%S" or "%d/%m/%Y %H:%M"
    local at = time.parse(data .. " " .. hora, fmt, ZONE)
    if at then return at end
  end
  local criacao = str(e.criacao)           -- "ddmmyyyyhhmmss" in the SRO JSON
  if criacao and criacao:match("^%d%d%d%d%d%d%d%d%d%d%d%d%d%d$") then
    return time.parse(criacao, "%d%m%Y%H%M%S", ZONE)
  end
  return nil, ("%s %s"):format(data or "?", hora or "?")
end

local function sro_event(e, i, warned)
  if type(e) ~= "table" then return nil, ("evento[%d] is not an object"):format(i) end
  local code = str(e.tipo)
  if not code then return nil, ("evento[%d] has no 'tipo'"):format(i) end
  code = code:upper()
  local at, shown = sro_time(e)
  if not at then return nil, ("evento[%d] (%s): cannot read the date '%s'"):format(i, code, short(shown, 40)) end
  local loc
  local u = tbl(e.unidade)
  if u then                                 -- SRO JSON: the unit is nested
    local addr = tbl(u.endereco) or {}
    loc = place(str(u["local"]), str(u.cidade) or str(addr.localidade) or str(addr.cidade),
                str(u.bairro) or str(addr.bairro), str(u.uf) or str(addr.uf),
                str(u.codigo) or str(addr.cep), str(u.codigo))
  else                                      -- SOAP XML: the unit's fields sit on the event
    loc = place(str(e["local"]), str(e.cidade), nil, str(e.uf), str(e.codigo), str(e.codigo))
  end
  local d = tbl(e.destino)
  if d and d[1] ~= nil then d = tbl(d[1]) end -- the SRO JSON wraps it in a list
  local dest
  if d then
    local addr = tbl(d.endereco) or {}
    dest = place(str(d["local"]), str(d.cidade) or str(addr.localidade) or str(addr.cidade),
                 str(d.bairro) or str(addr.bairro), str(d.uf) or str(addr.uf),
                 str(d.codigo) or str(addr.cep), str(d.codigo))
  end
  local ev = new_event(code, two_digits(e.status), at, describe(str(e.descricao), str(e.detalhe)), loc, dest, warned)
  return ev, receiver(e.recebedor)
end

local function sro_objeto(o, warned)
  local code = norm_code(o.numero)
  local eventos = o.evento
  if type(eventos) == "table" and eventos.tipo ~= nil then eventos = { eventos } end
  if type(eventos) ~= "table" or #eventos == 0 then
    local erro = str(o.erro)
    if erro then return code, failure.not_found(erro, nil) end
    return code, failure.not_found("Correios returned no events for this object", nil)
  end
  local events, receivers = {}, {}
  for i, e in ipairs(eventos) do
    local ev, extra = sro_event(e, i, warned)
    if not ev then return code, failure.broken(extra, nil) end
    events[i], receivers[i] = ev, extra
  end
  return code, finish(events, receivers)
end

local SRO_FIELDS = {}
for f in ("tipo status data hora criacao descricao detalhe recebedor local codigo cidade uf"):gmatch("%S+") do SRO_FIELDS[f] = true end
local DESTINO_FIELDS = { ["local"] = true, codigo = true, cidade = true, bairro = true, uf = true }

-- The raw text of the wanted children of an XML node, in one pass (first one wins).
local function xml_fields(node, wanted)
  local t = {}
  for _, c in ipairs(node) do
    local name = c.name
    if wanted[name] and t[name] == nil then t[name] = c.value end
  end
  return t
end

-- The <objeto> list of a SOAP (or bare <sroxml>) document as SRO JSON-like tables.
local function xml_objetos(root)
  local ret = root:find("Body/buscaEventosListaResponse/return") or root:find("Body/buscaEventosResponse/return")
  if not ret and (root.name == "sroxml" or root.name == "return") then ret = root end
  if not ret then
    local fault = root:find("Body/Fault")
    if fault then return nil, "SOAP fault: " .. short(fault:text("faultstring") or fault:text() or "?") end
    return nil, "XML <" .. tostring(root.name) .. "> is not a Correios SRO response (no buscaEventosListaResponse/return)"
  end
  local list = {}
  for _, o in ipairs(ret:children("objeto")) do
    local t = { numero = o:text("numero"), erro = o:text("erro"), evento = {} }
    for _, ev in ipairs(o:children("evento")) do
      local e = xml_fields(ev, SRO_FIELDS)
      local d = ev:child("destino")
      if d then e.destino = xml_fields(d, DESTINO_FIELDS) end
      t.evento[#t.evento + 1] = e
    end
    list[#list + 1] = t
  end
  return list
end

---------------------------------------------------------------------------
-- Dispatch
---------------------------------------------------------------------------

-- Results keyed by tracking number; a requested code keeps the caller's spelling.
local function collect(list, reader, codes)
  local requested = text.codes(codes)
  local results, count, skipped = {}, 0, 0
  local warned = {}
  for _, o in ipairs(list) do
    if type(o) == "table" then
      local code, outcome = reader(o, warned)
      -- A lone object without a number answers the lone code we asked for.
      if not code and #list == 1 and #(tbl(codes) or {}) == 1 then code = norm_code(codes[1]) end
      if code then
        local key = requested[code] or code
        if results[key] == nil then
          results[key] = outcome
          count = count + 1
        end
      else
        skipped = skipped + 1
      end
    else
      skipped = skipped + 1
    end
  end
  if skipped > 0 then
    if count == 0 then return failure.broken(("none of the %d objects has a tracking number"):format(skipped), nil) end
    log.warn("correios: skipped objects without a tracking number", { skipped = tostring(skipped) })
  end
  return results
end

local function json_keys(doc)
  local keys = {}
  for k in pairs(doc) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  if #keys > 8 then keys = { table.unpack(keys, 1, 8) }; keys[9] = "..." end
  return table.concat(keys, ", ")
end

local function from_json(doc, codes)
  if type(doc) ~= "table" then
    return failure.broken("JSON body is " .. (doc == json.null and "null" or ("a " .. type(doc))) .. ", not an object", nil)
  end
  if doc.objetos ~= nil then
    if type(doc.objetos) ~= "table" then return failure.broken("'objetos' is not a list", nil) end
    return collect(doc.objetos, rest_objeto, codes)
  end
  if doc.codObjeto ~= nil then return collect({ doc }, rest_objeto, codes) end     -- one bare REST objeto
  if doc.objeto ~= nil then                                                        -- {"objeto": [...]} (SRO JSON)
    local list = tbl(doc.objeto)
    if not list then return failure.broken("'objeto' is not a list", nil) end
    if list.numero ~= nil then list = { list } end
    return collect(list, sro_objeto, codes)
  end
  if doc.numero ~= nil and (doc.evento ~= nil or doc.erro ~= nil) then             -- one bare SRO JSON objeto
    return collect({ doc }, sro_objeto, codes)
  end
  local first = tbl(doc[1])
  if first and first.codObjeto ~= nil then return collect(doc, rest_objeto, codes) end
  if first and first.numero ~= nil then return collect(doc, sro_objeto, codes) end
  if next(doc) == nil then return failure.broken("JSON body is empty, without 'objetos'", nil) end
  return failure.broken("JSON without 'objetos' (top-level keys: " .. json_keys(doc) .. ")", nil)
end

local function parse_body(body, codes)
  if body:sub(1, 3) == "\239\187\191" then body = body:sub(4) end  -- UTF-8 BOM
  local first = body:match("^%s*(%S)")
  if not first then return failure.broken("empty body", nil) end
  if first == "{" or first == "[" then
    local doc, err = json.decode(body)
    if doc == nil then return failure.broken("body is not valid JSON: " .. short(tostring(err)), nil) end
    return from_json(doc, codes)
  end
  if first == "<" then
    local root, err = xml.parse(body)
    if not root then return failure.broken("body is not well-formed XML: " .. short(tostring(err)), nil) end
    local list, why = xml_objetos(root)
    if not list then return failure.broken(why, nil) end
    return collect(list, sro_objeto, codes)
  end
  local scalar = json.decode(body)                  -- "ok", 42, true...: JSON, but not an object
  if scalar ~= nil then return from_json(scalar, codes) end
  return failure.broken("expected JSON or XML from Correios, body starts with '" .. short(body:match("^%s*(.*)"), 40) .. "'", nil)
end

local function parse(response, codes, ctx)
  if type(response) ~= "table" then return failure.broken("no response", nil) end
  local f = http.triage(response, { message = error_message, refused = "Correios refused the token",
                                   expect = "JSON or XML from Correios", now = tbl(ctx) and ctx.now })
  if f then return f end
  local status = math.tointeger(tonumber(response.status)) or 0
  local body = type(response.body) == "string" and response.body or ""
  local out = parse_body(body, codes)
  if status >= 200 and status < 300 then return out end
  -- Other statuses (400, 404...): a body in a known shape still counts;
  -- anything else means the request no longer matches the API.
  if out.failure == nil then return out end
  local msg = error_message(body)
  return failure.broken("HTTP " .. status .. (msg and (": " .. msg) or (": " .. (out.message or ""))), nil)
end

---------------------------------------------------------------------------
-- Contract functions
---------------------------------------------------------------------------

-- UPU S10: 2 letters, 8-digit serial, check digit, 2-letter country.
local function validate(code)
  if type(code) ~= "string" then return false, "tracking number must be text" end
  local s = code:gsub("%s+", ""):upper()
  if #s ~= 13 then
    return false, ("expected 13 characters (2 letters, 9 digits, 2 letters, e.g. SI047624825BR), got %d"):format(#s)
  end
  if not s:match("^%u%u") then return false, "must start with 2 letters (the service code), got '" .. s:sub(1, 2) .. "'" end
  if not s:match("^%u%u%d%d%d%d%d%d%d%d%d") then
    return false, "characters 3 to 11 must be digits (8-digit serial and check digit), got '" .. s:sub(3, 11) .. "'"
  end
  if not s:match("%u%u$") then return false, "must end with a 2-letter country code, got '" .. s:sub(12, 13) .. "'" end
  return check.verdict(check.s10(s:sub(3, 10)), s:byte(11) - 48)
end

local function auth(config)
  config = tbl(config) or {}
  local user, access_code = str(config.user), str(config.access_code)
  if not user or not access_code then
    error("correios: config.user and config.access_code are required (Meu Correios user and API access code)", 0)
  end
  local headers = {
    ["Authorization"] = "Basic " .. base64.encode(user .. ":" .. access_code),
    ["Accept"] = "application/json",
  }
  local card = str(config.card)
  if not card then
    -- Without a cartão de postagem Correios issues a token for the user alone.
    return { method = "POST", url = http.base_url(config, DEFAULT_BASE_URL) .. "/token/v1/autentica", headers = headers, timeout = 30 }
  end
  headers["Content-Type"] = "application/json"
  return {
    method = "POST",
    url = http.base_url(config, DEFAULT_BASE_URL) .. "/token/v1/autentica/cartaopostagem",
    headers = headers,
    body = json.encode({ numero = card }),
    timeout = 30,
  }
end

local function parse_auth(response, config, ctx)
  if type(response) ~= "table" then return failure.broken("no response", nil) end
  local f = http.triage(response, { message = error_message, refused = "Correios refused the credentials", now = tbl(ctx) and ctx.now })
  if f then return f end
  local status = math.tointeger(tonumber(response.status)) or 0
  local body = type(response.body) == "string" and response.body or ""
  if status ~= 200 and status ~= 201 then
    local msg = error_message(body)
    return failure.broken("token request: HTTP " .. status .. (msg and (": " .. msg) or ""), nil)
  end
  local doc, err = json.decode(body)
  if type(doc) ~= "table" then
    return failure.broken("token response is not a JSON object" .. (err and (": " .. short(err)) or ""), nil)
  end
  local token = str(doc.token)
  if not token then return failure.broken("token response has no 'token'", nil) end
  local out = { token = token }
  local expira = str(doc.expiraEm)
  if expira then
    -- Brasília time; the response may also state its offset ("zoneOffset": "-03:00").
    local offset = str(doc.zoneOffset)
    if offset and offset:match("^[+-]%d%d:?%d%d$") then out.expires_at = time.parse(expira, "iso", offset) end
    out.expires_at = out.expires_at or time.parse(expira, "iso", ZONE)
  end
  if not out.expires_at then log.warn("correios: token response without a readable expiraEm", { expiraEm = expira or "" }) end
  return out
end

local function request(codes, config, ctx)
  local list = {}
  for _, c in ipairs(tbl(codes) or {}) do
    local n = norm_code(c)
    if n then list[#list + 1] = n end
  end
  local headers = { ["Accept"] = "application/json" }
  local token = str(tbl(ctx) and ctx.token)
  if token then headers["Authorization"] = "Bearer " .. token end
  return {
    method = "GET",
    url = http.base_url(config, DEFAULT_BASE_URL) .. "/srorastro/v1/objetos?" .. url.query({ codigosObjetos = list, resultado = "T" }),
    headers = headers,
    timeout = 30,
  }
end

-- Never raise on what a server sent: anything unexpected becomes a typed failure.
return {
  id = "correios",
  name = "Correios",
  api = 1,
  hosts = { "api.correios.com.br" },
  tracking_url = "https://rastreamento.correios.com.br/app/index.php?objetos={code}",
  poll = { every = "6h", window = "12d12h" },
  limits = { concurrency = 4, per_second = 10, batch = 50 },
  validate = check.guard(validate),
  auth = auth,
  parse_auth = failure.guard(parse_auth, "correios script"),
  request = request,
  parse = failure.guard(parse, "correios script"),
}
