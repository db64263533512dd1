{{/*
One tapfleet service as a Deployment. Arguments (a dict):
  root          the chart's root context
  component     app.kubernetes.io/component (control-plane, ingest, assembler, query)
  name          the Deployment's name suffix (default: component)
  values        the component's values (replicas, resources, nodeSelector, tolerations, affinity)
  replicas      overrides values.replicas
  command       the tapfleet command (control-plane, ingest, assembler, query-server)
  port          the port of /healthz and /metrics (and the API, when api is true)
  api           true: the port is also an API (Service, HTTPS probes under tls.enabled)
  configKey     the ConfigMap key mounted as config.json (default config.json)
  natsIdentity  the NATS user whose credentials the pod mounts (none: no NATS)
  signingKey    true: mount the bundle signing key (control plane only)
  redis         true: the service uses Redis (its password and TLS are mounted)
  extraLabels   selector labels beyond the component's (an assembler partition)
*/}}
{{- define "tapfleet.serviceDeployment" -}}
{{- $root := .root -}}
{{- $v := .values -}}
{{- $selector := include "tapfleet.selectorLabels" (dict "root" $root "component" .component) | fromYaml -}}
{{- $selector = mustMerge $selector (default (dict) .extraLabels) -}}
{{- $scheme := ternary "HTTPS" "HTTP" (and (default false .api) $root.Values.tls.enabled) -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "tapfleet.fullname" $root }}-{{ default .component .name }}
  labels:
    {{- include "tapfleet.commonLabels" $root | nindent 4 }}
    {{- toYaml $selector | nindent 4 }}
spec:
  replicas: {{ default $v.replicas .replicas }}
  selector:
    matchLabels:
      {{- toYaml $selector | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "tapfleet.commonLabels" $root | nindent 8 }}
        {{- toYaml $selector | nindent 8 }}
      annotations:
        # Restart on a config change: the services read their config once, at start.
        checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
        {{- include "tapfleet.scrapeAnnotations" (dict "root" $root "port" .port "scheme" $scheme) | nindent 8 }}
    spec:
      serviceAccountName: {{ include "tapfleet.serviceAccountName" $root }}
      automountServiceAccountToken: false
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $root.Values.podSecurityContext | nindent 8 }}
      {{- if .signingKey }}
      initContainers:
        {{- include "tapfleet.signingKeyInit" $root | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ .component }}
          image: {{ include "tapfleet.image" $root }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args: [{{ .command | quote }}]
          env:
            {{- include "tapfleet.env" $root | nindent 12 }}
          ports:
            - name: http
              containerPort: {{ .port }}
              protocol: TCP
          {{- include "tapfleet.probes" (dict "port" "http" "scheme" $scheme) | nindent 10 }}
          resources:
            {{- toYaml $v.resources | nindent 12 }}
          securityContext:
            {{- toYaml $root.Values.containerSecurityContext | nindent 12 }}
          volumeMounts:
            {{- include "tapfleet.serviceVolumeMounts" (dict "root" $root "natsIdentity" .natsIdentity "signingKey" .signingKey "redis" .redis "serveApi" .api) | nindent 12 }}
      volumes:
        {{- include "tapfleet.serviceVolumes" (dict "root" $root "configKey" (default "config.json" .configKey) "natsIdentity" .natsIdentity "signingKey" .signingKey "redis" .redis "serveApi" .api) | nindent 8 }}
      {{- with $v.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end -}}

{{/* A ClusterIP (or values.service.type) Service on a component's http port. */}}
{{- define "tapfleet.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "tapfleet.fullname" .root }}-{{ .component }}
  labels:
    {{- include "tapfleet.commonLabels" .root | nindent 4 }}
    {{- include "tapfleet.selectorLabels" . | nindent 4 }}
spec:
  type: {{ default "ClusterIP" .type }}
  selector:
    {{- include "tapfleet.selectorLabels" . | nindent 4 }}
  ports:
    - name: http
      port: {{ .port }}
      targetPort: http
      protocol: TCP
{{- end -}}
