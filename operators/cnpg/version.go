package cnpg

// DefaultVersion is the CloudNativePG release pgchaos installs by default;
// its module ships releases/cnpg-<version>.yaml.
const DefaultVersion = "1.27.1"
