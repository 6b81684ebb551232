# polyauth container image: `docker build -t polyauth .`
#
# Stage 1 builds the `dist` profile (thin LTO, one codegen unit; see Cargo.toml);
# stage 2 is distroless: glibc, CA
# certificates (for rediss://) and a non-root user, no shell, no package
# manager. The image runs `polyauth serve` with /etc/polyauth/gateway.toml
# (a memory-store demo config); Kubernetes passes its own with `--config`
# (see deploy/kubernetes/ and the README, "Running in Kubernetes").

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
# Dependencies first, in their own layer: a source change does not rebuild them.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && cargo build --profile dist --locked \
 && rm -rf src
COPY src src
# The placeholder build left newer artifacts: make cargo see the real sources as changed.
RUN touch src/main.rs src/lib.rs \
 && cargo build --profile dist --locked \
 && install -D target/dist/polyauth /out/polyauth

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/polyauth /usr/local/bin/polyauth
COPY dialects /etc/polyauth/dialects
COPY deploy/container.toml /etc/polyauth/gateway.toml
# 65532 is distroless's "nonroot"; numeric, so runAsNonRoot can verify it.
USER 65532:65532
EXPOSE 8000 9100
ENTRYPOINT ["/usr/local/bin/polyauth"]
CMD ["serve", "--config", "/etc/polyauth/gateway.toml"]
