import ArgumentParser
import BantinRPC

struct Certs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Development PKI.", subcommands: [Init.self])

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a CA and server/client certificates (ECDSA P-256) for local runs and Kubernetes.",
            discussion: """
            Writes ca.pem, ca-key.pem, server.pem, server-key.pem, client.pem, client-key.pem. The server
            certificate names localhost, 127.0.0.1, ::1 and the in-cluster names of every Bantin Service
            (bantin-ingest, bantin-ingest.NAMESPACE, ...svc, ...svc.cluster.local; likewise bantin-extract and
            bantin-query). With --kubernetes-secrets it also writes the Secrets deploy/base mounts
            (bantin-server-tls, bantin-client-tls), ready for `kubectl apply -f`. For development only: keys
            are unencrypted.
            """)

        @Argument(help: "Directory to write into (created if missing).")
        var directory: String

        @Option(name: .customLong("name"), help: "Extra DNS name or IP address for the server certificate (repeatable).")
        var names: [String] = []

        @Option(help: "Kubernetes namespace the services run in.")
        var namespace = "bantin"

        @Option(help: "Also write the Kubernetes Secrets bantin-server-tls and bantin-client-tls to this file.")
        var kubernetesSecrets: String?

        func run() throws {
            let written = try DevelopmentPKI.initialize(directory: directory, extraNames: names, namespace: namespace)
            for path in written { print(path) }
            if let kubernetesSecrets {
                try DevelopmentPKI.write(try DevelopmentPKI.kubernetesSecrets(directory: directory, namespace: namespace),
                                         to: kubernetesSecrets, secret: true)
                print(kubernetesSecrets)
            }
        }
    }
}
