# ---- general -----------------------------------------------------------------------------------
variable "region" {
  description = "AWS region for every resource."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Name prefix for every resource (function, roles, security groups, instance)."
  type        = string
  default     = "ingestor"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name))
    error_message = "name: lower-case letters, digits and '-', 2 to 31 characters, starting with a letter."
  }
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}

# ---- network (network.tf) ----------------------------------------------------------------------
variable "create_vpc" {
  description = "Create a VPC with private subnets only (no internet gateway, no NAT). false: use vpc_id, private_subnet_ids and private_route_table_ids."
  type        = bool
  default     = true
}

variable "vpc_cidr" {
  description = "CIDR of the VPC created when create_vpc = true."
  type        = string
  default     = "10.42.0.0/16"
}

variable "az_count" {
  description = "Private subnets (one per availability zone) created when create_vpc = true. Lambda wants at least 2."
  type        = number
  default     = 2

  validation {
    condition     = var.az_count >= 1 && var.az_count <= 4
    error_message = "az_count must be between 1 and 4."
  }
}

variable "vpc_id" {
  description = "Existing VPC (create_vpc = false). Needs enableDnsSupport and enableDnsHostnames for the interface endpoints' private DNS."
  type        = string
  default     = null
}

variable "private_subnet_ids" {
  description = "Existing private subnets (create_vpc = false): the Lambda's ENIs go in all of them, the consumer in the first."
  type        = list(string)
  default     = []
}

variable "private_route_table_ids" {
  description = "Route tables of the existing private subnets, for the S3 gateway endpoint (create_vpc = false and create_s3_gateway_endpoint = true)."
  type        = list(string)
  default     = []
}

variable "create_s3_gateway_endpoint" {
  description = "Create the S3 gateway endpoint (free). Set false when the existing VPC already has one on these route tables."
  type        = bool
  default     = true
}

variable "create_ssm_endpoints" {
  description = "Create interface endpoints for Systems Manager (Session Manager and Parameter Store) so the private consumer needs no NAT gateway. Set false when the VPC already reaches SSM (its own endpoints or a NAT)."
  type        = bool
  default     = true
}

variable "ssm_endpoint_services" {
  description = "Interface endpoints created when create_ssm_endpoints = true. ssm + ssmmessages suffice for SSM Agent >= 3.3.40 (current AL2023 AMIs); add \"ec2messages\" for older agents. Each costs about 7.30 USD a month per subnet it is in."
  type        = list(string)
  default     = ["ssm", "ssmmessages"]

  # The consumer (always) and the relay ("ssm_runtime") read the shared secret through "ssm".
  validation {
    condition     = contains(var.ssm_endpoint_services, "ssm")
    error_message = "ssm_endpoint_services must include \"ssm\": the consumer and the relay read the shared secret through it."
  }
}

variable "endpoint_subnet_count" {
  description = "How many of the private subnets get an interface-endpoint ENI. 1 is cheapest (the consumer lives in the first subnet); more gives endpoint availability across zones at 7.30 USD per endpoint per extra subnet."
  type        = number
  default     = 1
}

# ---- bucket (bucket.tf) ------------------------------------------------------------------------
variable "bucket_name" {
  description = "Bucket name; null lets Terraform pick a unique name starting with \"<name>-events-\"."
  type        = string
  default     = null
}

variable "agent_prefix" {
  description = "Key prefix the agent writes under (the hdfs.path / s3 sink prefix) and the only prefix whose new objects notify the relay. Ends with '/'."
  type        = string
  default     = "events/"

  validation {
    condition     = can(regex("^[^*]+/$", var.agent_prefix))
    error_message = "agent_prefix must be non-empty, end with '/' and contain no '*'."
  }
}

variable "artifact_prefix" {
  description = "Key prefix of the release binary the consumer's cloud-init downloads (outside agent_prefix, so it notifies nobody)."
  type        = string
  default     = "_deploy/"
}

variable "abort_incomplete_multipart_days" {
  description = "Days after which the lifecycle rule aborts incomplete multipart uploads (an agent that died mid-upload)."
  type        = number
  default     = 7
}

variable "object_expiration_days" {
  description = "Expire objects under agent_prefix after this many days; 0 keeps them forever."
  type        = number
  default     = 0
}

variable "force_destroy_bucket" {
  description = "Let `terraform destroy` delete a non-empty bucket (and every object in it)."
  type        = bool
  default     = false
}

# ---- relay Lambda (lambda.tf) ------------------------------------------------------------------
variable "lambda_zip_path" {
  description = "The relay's deployment package: `make lambda-zip` writes build/lambda.zip (bootstrap at its root, a static x86_64 binary)."
  type        = string
  default     = "../../build/lambda.zip"
}

variable "lambda_memory_mb" {
  description = "Relay memory (MB); it only forwards small JSON documents."
  type        = number
  default     = 128
}

variable "lambda_timeout_seconds" {
  description = "Relay timeout: the consumer must have accepted every record by then, or the invocation fails and Lambda retries it."
  type        = number
  default     = 30
}

variable "lambda_max_retry_attempts" {
  description = "Asynchronous retries after a failed invocation (0-2). Failures after the last go to the SQS queue in the relay_failures_queue_url output."
  type        = number
  default     = 2
}

variable "lambda_max_event_age_seconds" {
  description = "How long Lambda keeps retrying an event (60-21600)."
  type        = number
  default     = 21600
}

variable "log_retention_days" {
  description = "CloudWatch Logs retention for the relay."
  type        = number
  default     = 14
}

# ---- shared secret -----------------------------------------------------------------------------
variable "secret_ssm_parameter_name" {
  description = "Name of an SSM Parameter Store SecureString holding the relay->consumer HMAC secret, created beforehand (docs/deploy.md): Terraform never creates it, so it is never in the plan or in a resource."
  type        = string
  default     = "/ingestor/relay-secret"
}

variable "secret_kms_key_arn" {
  description = "Customer-managed KMS key that encrypts the SecureString; null for the AWS-managed key alias/aws/ssm."
  type        = string
  default     = null
}

variable "relay_secret_delivery" {
  description = <<-EOT
    How the relay gets the secret.
    "env": Terraform reads the SecureString (data source) and sets INGESTOR_SECRET in the function's
      environment. Works with every relay build; the secret is stored in the Terraform state and in
      the function configuration (KMS-encrypted at rest, readable with lambda:GetFunctionConfiguration).
    "ssm_runtime": the function gets only INGESTOR_SECRET_SSM_PARAMETER (the name), permission to
      read it and HTTPS to the SSM interface endpoint; the relay fetches it with ssm:GetParameter at
      each cold start (role credentials and AWS_REGION come from Lambda). Keeps the secret out of
      the state and the function configuration; a parameter that cannot be read fails the
      function's init (Runtime.ConfigError in its log). See docs/deploy.md and src/relay/README.md.
  EOT
  type        = string
  default     = "env"

  validation {
    condition     = contains(["env", "ssm_runtime"], var.relay_secret_delivery)
    error_message = "relay_secret_delivery must be \"env\" or \"ssm_runtime\"."
  }
}

# ---- consumer EC2 (consumer.tf) ----------------------------------------------------------------
variable "ingestor_binary_path" {
  description = "The static x86_64 ingestor binary (`make static` writes build-static/ingestor) that Terraform uploads under artifact_prefix and cloud-init installs on the consumer."
  type        = string
  default     = "../../build-static/ingestor"
}

variable "consumer_instance_type" {
  description = "Consumer instance type (x86_64, to run the x86_64 static binary)."
  type        = string
  default     = "t3.micro"
}

variable "consumer_ami_ssm_parameter" {
  description = "SSM public parameter naming the consumer's AMI (Amazon Linux 2023, x86_64)."
  type        = string
  default     = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
}

variable "consumer_port" {
  description = "TCP port the consumer listens on (POST /objects); the only port its security group opens, to the relay's security group."
  type        = number
  default     = 9200
}

variable "consumer_workers" {
  description = "Concurrent downloads in the consumer (--workers)."
  type        = number
  default     = 4
  validation {
    condition     = var.consumer_workers >= 1 && var.consumer_workers <= 256 && floor(var.consumer_workers) == var.consumer_workers
    error_message = "consumer_workers must be a whole number from 1 to 256 (the consumer's --workers range)."
  }
}

variable "consumer_volume_gb" {
  description = "Root volume (gp3, encrypted) holding the consumer's downloads."
  type        = number
  default     = 20
}

# ---- agent IAM (iam.tf) ------------------------------------------------------------------------
variable "agent_trusted_services" {
  description = "AWS services that may assume the agent role (ec2: agents on EC2 through the agent instance profile; ecs-tasks: agents in ECS)."
  type        = list(string)
  default     = ["ec2.amazonaws.com"]
}

variable "agent_trusted_role_arns" {
  description = "IAM principals (roles in this or another account, IAM Roles Anywhere profiles) that may assume the agent role."
  type        = list(string)
  default     = []
}
