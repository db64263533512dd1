{{/* Names and labels. */}}
{{- define "tapfleet.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tapfleet.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels of a resource of no one component (a component's add its selector labels to the common ones). */}}
{{- define "tapfleet.labels" -}}
app.kubernetes.io/name: {{ include "tapfleet.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{ include "tapfleet.commonLabels" . }}
{{- end -}}

{{- define "tapfleet.commonLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tapfleet
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "ingest"). */}}
{{- define "tapfleet.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tapfleet.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "tapfleet.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "tapfleet.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "tapfleet.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "tapfleet.agentImage" -}}
{{- printf "%s:%s" .Values.agentImage.repository (default .Chart.AppVersion .Values.agentImage.tag) -}}
{{- end -}}

{{/* Secret names: an existingSecret wins, else the chart's conventional name. */}}
{{- define "tapfleet.natsAuthSecret" -}}
{{- default (printf "%s-nats-auth" (include "tapfleet.fullname" .)) .Values.nats.auth.existingSecret -}}
{{- end -}}
{{- define "tapfleet.signingKeySecret" -}}
{{- default (printf "%s-signing-key" (include "tapfleet.fullname" .)) .Values.signingKey.existingSecret -}}
{{- end -}}
{{- define "tapfleet.joinTokenSecret" -}}
{{- default (printf "%s-agent-join" (include "tapfleet.fullname" .)) .Values.agent.joinToken.existingSecret -}}
{{- end -}}
{{- define "tapfleet.clickhouseSecret" -}}
{{- if .Values.clickhouse.existingSecret -}}{{ .Values.clickhouse.existingSecret }}{{- else if .Values.stores.clickhousePassword -}}{{ printf "%s-stores" (include "tapfleet.fullname" .) }}{{- end -}}
{{- end -}}
{{- define "tapfleet.redisSecret" -}}
{{- if .Values.redis.existingSecret -}}{{ .Values.redis.existingSecret }}{{- else if .Values.stores.redisPassword -}}{{ printf "%s-stores" (include "tapfleet.fullname" .) }}{{- end -}}
{{- end -}}

{{- define "tapfleet.controlPlaneUrl" -}}
{{- printf "%s://%s-control-plane:%d" (ternary "https" "http" .Values.tls.enabled) (include "tapfleet.fullname" .) (int .Values.controlPlane.port) -}}
{{- end -}}

{{/* Where the pods see what the chart mounts (the config file points here). */}}
{{- define "tapfleet.paths" -}}
dataDir: /var/lib/tapfleet
config: /etc/tapfleet/config
natsAuth: /etc/tapfleet/nats-auth
stores: /etc/tapfleet/stores
trust: /etc/tapfleet/trust
tls: /etc/tapfleet/tls
{{- end -}}

{{/*
The config file every service reads (TAPFLEET_CONFIG), as a dict: the keys of
schemas/src/config.ts. Listening addresses are 0.0.0.0 (the defaults are loopback, for one
machine); credentials are files mounted by the workloads. 
*/}}
{{- define "tapfleet.configDict" -}}
{{- $v := .Values -}}
{{- $p := include "tapfleet.paths" . | fromYaml -}}
{{- $nats := dict "url" (first $v.nats.urls) "authDir" $p.natsAuth -}}
{{- if gt (len $v.nats.urls) 1 }}{{ $_ := set $nats "urls" $v.nats.urls }}{{ end -}}
{{- if gt (int $v.nats.replicas) 1 }}{{ $_ := set $nats "replicas" (int $v.nats.replicas) }}{{ end -}}
{{- if $v.nats.tls.enabled -}}
{{- $_ := set $nats "tls" (dict "caFile" (printf "%s/nats/ca.crt" $p.tls) "certFile" (printf "%s/nats/tls.crt" $p.tls) "keyFile" (printf "%s/nats/tls.key" $p.tls)) -}}
{{- end -}}
{{- $ch := dict "url" $v.clickhouse.url "database" $v.clickhouse.database "username" $v.clickhouse.username -}}
{{- if include "tapfleet.clickhouseSecret" . }}{{ $_ := set $ch "passwordFile" (printf "%s/clickhouse/clickhouse-password" $p.stores) }}{{ end -}}
{{- if $v.clickhouse.cluster }}{{ $_ := set $ch "cluster" $v.clickhouse.cluster }}{{ end -}}
{{- if $v.clickhouse.shards }}{{ $_ := set $ch "shards" $v.clickhouse.shards }}{{ end -}}
{{- if $v.clickhouse.tls.enabled }}{{ if not (hasPrefix "https://" $v.clickhouse.url) }}{{ fail "clickhouse.tls.enabled needs an https:// clickhouse.url" }}{{ end }}{{ $_ := set $ch "tls" (dict "caFile" (printf "%s/clickhouse/ca.crt" $p.tls)) }}{{ end -}}
{{- $redis := dict "url" (ternary (regexReplaceAll "^redis://" $v.redis.url "rediss://") $v.redis.url $v.redis.tls.enabled) -}}
{{- if include "tapfleet.redisSecret" . }}{{ $_ := set $redis "passwordFile" (printf "%s/redis/redis-password" $p.stores) }}{{ end -}}
{{- if $v.redis.sentinel.enabled }}{{ $_ := set $redis "sentinel" (dict "masterName" $v.redis.sentinel.masterName "nodes" $v.redis.sentinel.nodes) }}{{ end -}}
{{- if $v.redis.tls.enabled }}{{ $_ := set $redis "tls" (dict "caFile" (printf "%s/redis/ca.crt" $p.tls)) }}{{ end -}}
{{- $cp := dict "host" "0.0.0.0" "port" (int $v.controlPlane.port) "url" (include "tapfleet.controlPlaneUrl" .) -}}
{{- if $v.tls.enabled -}}
{{- $_ := set $cp "tls" (dict "certFile" (printf "%s/api/tls.crt" $p.tls) "keyFile" (printf "%s/api/tls.key" $p.tls)) -}}
{{- $_ := set $cp "caFile" (printf "%s/api/ca.crt" $p.tls) -}}
{{- end -}}
{{- $ingest := mustMergeOverwrite (deepCopy $v.ingest.config) (dict "metricsHost" "0.0.0.0" "metricsPort" (int $v.ingest.metricsPort)) -}}
{{- $asm := mustMergeOverwrite (deepCopy $v.assembler.config) (dict "metricsHost" "0.0.0.0" "metricsPort" (int $v.assembler.metricsPort) "partitions" (int $v.assembler.partitions)) -}}
{{- if $v.assembler.otlpUrl }}{{ $_ := set $asm "otlp" (mustMergeOverwrite (default (dict) (get $asm "otlp")) (dict "url" $v.assembler.otlpUrl)) }}{{ end -}}
{{- if $v.kafka.enabled -}}
{{- $_ := set $ingest "kafka" (dict "brokers" $v.kafka.brokers "topic" $v.kafka.eventsTopic) -}}
{{- $_ := set $asm "kafka" (dict "brokers" $v.kafka.brokers "topic" $v.kafka.spansTopic) -}}
{{- end -}}
{{- $query := dict "host" "0.0.0.0" "port" (int $v.query.port) "url" (printf "%s://%s-query:%d" (ternary "https" "http" $v.tls.enabled) (include "tapfleet.fullname" .) (int $v.query.port)) -}}
{{- if $v.tls.enabled -}}
{{- $_ := set $query "tls" (dict "certFile" (printf "%s/api/tls.crt" $p.tls) "keyFile" (printf "%s/api/tls.key" $p.tls)) -}}
{{- $_ := set $query "caFile" (printf "%s/api/ca.crt" $p.tls) -}}
{{- end -}}
{{- $agent := mustMergeOverwrite (deepCopy $v.agent.config) (dict "metricsHost" "0.0.0.0" "metricsPort" (int $v.agent.metricsPort) "labels" $v.agent.labels "binaries" $v.agent.binaries "trustedKeyFile" (printf "%s/signing-key.pub" $p.trust) "spool" (dict "maxBytes" (int64 $v.agent.spoolMaxBytes))) -}}
{{- $c := dict "dataDir" $p.dataDir "logLevel" $v.logLevel "nats" $nats "clickhouse" $ch "redis" $redis "controlPlane" $cp "compiler" $v.controlPlane.compiler "ingest" $ingest "assembler" $asm "query" $query "agent" $agent -}}
{{- toYaml (mustMergeOverwrite $c (deepCopy $v.config)) -}}
{{- end -}}

{{/* Prometheus scrape annotations of a pod: (dict "root" $ "port" 9465 "scheme" "HTTPS"). */}}
{{- define "tapfleet.scrapeAnnotations" -}}
{{- if .root.Values.metrics.annotations -}}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .port | quote }}
prometheus.io/path: /metrics
{{- if eq (default "HTTP" .scheme) "HTTPS" }}
prometheus.io/scheme: https
{{- end }}
{{- end -}}
{{- end -}}

{{/* Probes on /healthz of a named port: (dict "port" "http" "scheme" "HTTP"). */}}
{{- define "tapfleet.probes" -}}
livenessProbe:
  httpGet: { path: /healthz, port: {{ .port }}, scheme: {{ default "HTTP" .scheme }} }
  initialDelaySeconds: 10
  periodSeconds: 10
  timeoutSeconds: 3
  failureThreshold: 6
readinessProbe:
  httpGet: { path: /healthz, port: {{ .port }}, scheme: {{ default "HTTP" .scheme }} }
  periodSeconds: 5
  timeoutSeconds: 3
  failureThreshold: 3
startupProbe:
  httpGet: { path: /healthz, port: {{ .port }}, scheme: {{ default "HTTP" .scheme }} }
  periodSeconds: 5
  timeoutSeconds: 3
  failureThreshold: 60
{{- end -}}

{{/*
The control plane reads its key at <dataDir>/control-plane/signing-key.pem and writes the public
half and the admin token beside it, so the directory must be its own and writable: an init
container copies the key there from the Secret (a subPath mount would leave the directory to root).
*/}}
{{- define "tapfleet.signingKeyInit" -}}
{{- $p := include "tapfleet.paths" . | fromYaml -}}
- name: signing-key
  image: {{ include "tapfleet.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command: ["/bin/sh", "-c"]
  args: ['install -d -m 0700 {{ $p.dataDir }}/control-plane && install -m 0600 /etc/tapfleet/signing-key/signing-key.pem {{ $p.dataDir }}/control-plane/signing-key.pem']
  resources:
    requests: { cpu: 10m, memory: 16Mi }
    limits: { memory: 64Mi }
  securityContext:
    {{- toYaml .Values.containerSecurityContext | nindent 4 }}
  volumeMounts:
    - name: signing-key
      mountPath: /etc/tapfleet/signing-key
      readOnly: true
    - name: data
      mountPath: {{ $p.dataDir }}
{{- end -}}

{{/* The env every tapfleet container gets: the config file; HOME on the writable /tmp. */}}
{{- define "tapfleet.env" -}}
- name: TAPFLEET_CONFIG
  value: {{ printf "%s/%s" (include "tapfleet.paths" . | fromYaml).config "config.json" }}
- name: HOME
  value: /tmp
{{- end -}}

{{/* The TLS peers of a service pod (same dict as the volumes). */}}
{{- define "tapfleet.tlsPeers" -}}
{{- $peers := list "clickhouse" -}}
{{- if .natsIdentity }}{{ $peers = append $peers "nats" }}{{ end -}}
{{- if .redis }}{{ $peers = append $peers "redis" }}{{ end -}}
{{- if .serveApi }}{{ $peers = append $peers "api" }}{{ end -}}
{{- toYaml $peers -}}
{{- end -}}

{{/*
Volumes every service pod has: config, scratch, data dir, store passwords, TLS.
(dict "root" $ "configKey" "config.json" "natsIdentity" "ingest" "signingKey" false "redis" true "serveApi" false).
*/}}
{{- define "tapfleet.serviceVolumes" -}}
{{- $root := .root -}}
- name: config
  configMap:
    name: {{ include "tapfleet.fullname" $root }}-config
    items:
      - key: {{ .configKey }}
        path: config.json
- name: tmp
  emptyDir: {}
- name: data
  {{- if .signingKey }}
  # The control plane's data dir holds its private signing key: memory, never the node's disk.
  emptyDir:
    medium: Memory
    sizeLimit: 16Mi
  {{- else }}
  emptyDir: {}
  {{- end }}
{{- if .natsIdentity }}
- name: nats-auth
  secret:
    secretName: {{ include "tapfleet.natsAuthSecret" $root }}
    defaultMode: 0440
    items:
      - key: {{ .natsIdentity }}.creds
        path: {{ .natsIdentity }}.creds
      {{- if eq .natsIdentity "control-plane" }}
      # The account keys it issues agent credentials with (enrollment).
      - key: account.nk
        path: account.nk
      - key: account-signing.nk
        path: account-signing.nk
      {{- end }}
{{- end }}
{{- if .signingKey }}
- name: signing-key
  secret:
    secretName: {{ include "tapfleet.signingKeySecret" $root }}
    defaultMode: 0440
    items:
      - key: signing-key.pem
        path: signing-key.pem
{{- end }}
{{- with include "tapfleet.clickhouseSecret" $root }}
- name: clickhouse-password
  secret:
    secretName: {{ . }}
    defaultMode: 0440
    items:
      - key: clickhouse-password
        path: clickhouse-password
{{- end }}
{{- if .redis }}
{{- with include "tapfleet.redisSecret" $root }}
- name: redis-password
  secret:
    secretName: {{ . }}
    defaultMode: 0440
    items:
      - key: redis-password
        path: redis-password
{{- end }}
{{- end }}
{{- include "tapfleet.tlsVolumes" (dict "root" $root "peers" (include "tapfleet.tlsPeers" . | fromYamlArray)) }}
{{- end -}}

{{- define "tapfleet.serviceVolumeMounts" -}}
{{- $p := include "tapfleet.paths" .root | fromYaml -}}
- name: config
  mountPath: {{ $p.config }}
  readOnly: true
- name: tmp
  mountPath: /tmp
- name: data
  mountPath: {{ $p.dataDir }}
{{- if .natsIdentity }}
- name: nats-auth
  mountPath: {{ $p.natsAuth }}
  readOnly: true
{{- end }}

{{- if include "tapfleet.clickhouseSecret" .root }}
- name: clickhouse-password
  mountPath: {{ $p.stores }}/clickhouse
  readOnly: true
{{- end }}
{{- if and .redis (include "tapfleet.redisSecret" .root) }}
- name: redis-password
  mountPath: {{ $p.stores }}/redis
  readOnly: true
{{- end }}
{{- include "tapfleet.tlsVolumeMounts" (dict "root" .root "peers" (include "tapfleet.tlsPeers" . | fromYamlArray)) }}
{{- end -}}

{{/*
TLS material, one Secret per peer, mounted only when enabled and only where used:
(dict "root" $ "peers" (list "nats" "clickhouse" "redis" "api" "api-ca")). "api" is the API
server's certificate and key (control plane, query); "api-ca" only the CA that signed it (agents).
*/}}
{{- define "tapfleet.tlsMounts" -}}
{{- $v := .root.Values -}}
{{- $enabled := dict "nats" $v.nats.tls "clickhouse" $v.clickhouse.tls "redis" $v.redis.tls "api" $v.tls "api-ca" $v.tls -}}
{{- $out := list -}}
{{- range $peer := .peers -}}
{{- $tls := get $enabled $peer -}}
{{- if $tls.enabled -}}
{{- $secret := required (printf "the existingSecret of %s TLS is required when it is enabled" $peer) $tls.existingSecret -}}
{{- $out = append $out (dict "name" (printf "tls-%s" (trimSuffix "-ca" $peer)) "dir" (trimSuffix "-ca" $peer) "secret" $secret "caOnly" (hasSuffix "-ca" $peer)) -}}
{{- end -}}
{{- end -}}
{{- toYaml (dict "mounts" $out) -}}
{{- end -}}

{{- define "tapfleet.tlsVolumes" -}}
{{- range (include "tapfleet.tlsMounts" . | fromYaml).mounts }}
- name: {{ .name }}
  secret:
    secretName: {{ .secret }}
    defaultMode: 0440
    {{- if .caOnly }}
    items:
      - key: ca.crt
        path: ca.crt
    {{- end }}
{{- end }}
{{- end -}}

{{- define "tapfleet.tlsVolumeMounts" -}}
{{- $p := include "tapfleet.paths" .root | fromYaml -}}
{{- range (include "tapfleet.tlsMounts" . | fromYaml).mounts }}
- name: {{ .name }}
  mountPath: {{ $p.tls }}/{{ .dir }}
  readOnly: true
{{- end }}
{{- end -}}
