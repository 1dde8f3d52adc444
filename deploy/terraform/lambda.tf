# The relay: `ingestor` as a Lambda custom runtime. The zip (`make lambda-zip`) holds one file,
# `bootstrap` (the statically linked binary, mode 0755); on provided.al2023 Lambda runs it, and the
# binary, named bootstrap and seeing AWS_LAMBDA_RUNTIME_API, loops on the Runtime API and POSTs each
# ObjectCreated record to the consumer. It runs in the private subnets so it can reach the
# consumer's private IP; it needs no other network access (logs go through the Lambda service).

locals {
  relay_function_name = "${var.name}-relay"
  relay_target_url    = "http://${aws_instance.consumer.private_ip}:${var.consumer_port}/objects"
  secret_parameter_arn = join(":", [
    "arn", data.aws_partition.current.partition, "ssm", var.region,
    data.aws_caller_identity.current.account_id,
    "parameter/${trimprefix(var.secret_ssm_parameter_name, "/")}",
  ])

  # "env": the value, read by Terraform (so it is in the state; see docs/deploy.md).
  # "ssm_runtime": only the parameter's name; the relay reads the value itself at start with a
  # signed ssm:GetParameter (src/relay/README.md). Lambda supplies the rest: AWS_REGION (endpoint
  # ssm.<region>.amazonaws.com, resolved to the interface endpoint by its private DNS) and the
  # role's credentials in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN.
  # SSL_CERT_FILE: that call is HTTPS, and the static binary's OpenSSL looks for CAs in Debian's
  # /usr/lib/ssl, which provided.al2023 does not have; its bundle is here (docs/deploy.md).
  relay_secret_env = var.relay_secret_delivery == "env" ? tomap({
    INGESTOR_SECRET = data.aws_ssm_parameter.relay_secret[0].value
    }) : tomap({
    INGESTOR_SECRET_SSM_PARAMETER = var.secret_ssm_parameter_name
    SSL_CERT_FILE                 = "/etc/pki/tls/certs/ca-bundle.crt"
  })
}

data "aws_ssm_parameter" "relay_secret" {
  count           = var.relay_secret_delivery == "env" ? 1 : 0
  name            = var.secret_ssm_parameter_name
  with_decryption = true
}

# ---- execution role ----------------------------------------------------------------------------
data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "relay" {
  name               = "${var.name}-relay"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

# AWS-managed: CloudWatch Logs plus the ec2:*NetworkInterface* calls that attach the function to the
# VPC (Lambda creates its Hyperplane ENIs with them).
resource "aws_iam_role_policy_attachment" "relay_vpc" {
  role       = aws_iam_role.relay.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

data "aws_iam_policy_document" "relay" {
  statement {
    sid       = "OnFailureDestination"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.relay_failures.arn]
  }

  dynamic "statement" {
    for_each = var.relay_secret_delivery == "ssm_runtime" ? [1] : []
    content {
      sid       = "ReadSharedSecret"
      actions   = ["ssm:GetParameter"]
      resources = [local.secret_parameter_arn]
    }
  }

  dynamic "statement" {
    for_each = var.relay_secret_delivery == "ssm_runtime" && var.secret_kms_key_arn != null ? [var.secret_kms_key_arn] : []
    content {
      sid       = "DecryptSharedSecret"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "relay" {
  name   = "${var.name}-relay"
  role   = aws_iam_role.relay.id
  policy = data.aws_iam_policy_document.relay.json
}

# ---- network -----------------------------------------------------------------------------------
resource "aws_security_group" "relay" {
  name        = "${var.name}-relay"
  description = "Relay Lambda ENIs: no inbound; outbound only to the consumer port (and SSM over HTTPS in ssm_runtime mode)"
  vpc_id      = local.vpc_id
  tags        = { Name = "${var.name}-relay" }
}

resource "aws_vpc_security_group_egress_rule" "relay_to_consumer" {
  security_group_id            = aws_security_group.relay.id
  description                  = "POST /objects to the consumer"
  ip_protocol                  = "tcp"
  from_port                    = var.consumer_port
  to_port                      = var.consumer_port
  referenced_security_group_id = aws_security_group.consumer.id
}

resource "aws_vpc_security_group_egress_rule" "relay_to_endpoints" {
  count                        = var.relay_secret_delivery == "ssm_runtime" && local.create_ssm_endpoints ? 1 : 0
  security_group_id            = aws_security_group.relay.id
  description                  = "HTTPS to the SSM interface endpoint (secret)"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.endpoints[0].id
}

# ---- function ----------------------------------------------------------------------------------
resource "aws_cloudwatch_log_group" "relay" {
  name              = "/aws/lambda/${local.relay_function_name}"
  retention_in_days = var.log_retention_days
}

# Events that still fail after Lambda's retries land here (request and response included), to be
# replayed once the consumer is back: nothing is dropped silently.
resource "aws_sqs_queue" "relay_failures" {
  name                      = "${var.name}-relay-failures"
  message_retention_seconds = 1209600 # 14 days, the maximum
  sqs_managed_sse_enabled   = true
}

resource "aws_lambda_function" "relay" {
  function_name    = local.relay_function_name
  description      = "Ingestor relay: S3 ObjectCreated -> POST to the consumer"
  role             = aws_iam_role.relay.arn
  runtime          = "provided.al2023"
  handler          = "bootstrap" # unused by a custom runtime; exported to it as _HANDLER
  architectures    = ["x86_64"]
  filename         = var.lambda_zip_path
  source_code_hash = filebase64sha256(var.lambda_zip_path)
  memory_size      = var.lambda_memory_mb
  timeout          = var.lambda_timeout_seconds

  environment {
    variables = merge(tomap({ INGESTOR_TARGET_URL = local.relay_target_url }), local.relay_secret_env)
  }

  vpc_config {
    subnet_ids         = local.private_subnet_ids
    security_group_ids = [aws_security_group.relay.id]
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.relay.name
  }

  depends_on = [
    aws_iam_role_policy_attachment.relay_vpc,
    aws_iam_role_policy.relay,
    aws_cloudwatch_log_group.relay,
  ]
}

resource "aws_lambda_function_event_invoke_config" "relay" {
  function_name                = aws_lambda_function.relay.function_name
  maximum_retry_attempts       = var.lambda_max_retry_attempts
  maximum_event_age_in_seconds = var.lambda_max_event_age_seconds

  destination_config {
    on_failure {
      destination = aws_sqs_queue.relay_failures.arn
    }
  }

  depends_on = [aws_iam_role_policy.relay]
}
