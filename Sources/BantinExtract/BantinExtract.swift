// Filled by the services issue.
