# The consumer: one EC2 instance in a private subnet, Amazon Linux 2023 from AWS's public SSM
# parameter (no hand-made AMI), set up entirely by cloud-init: it downloads the static `ingestor`
# binary that this module uploaded to the bucket (through the S3 gateway endpoint: no internet
# needed), installs deploy/systemd/ingestor-consumer.service, writes its configuration, reads the
# shared secret from Parameter Store and starts the service. No SSH key: Session Manager only.

data "aws_ssm_parameter" "al2023_ami" {
  name = var.consumer_ami_ssm_parameter
}

# The release binary, by content: a new binary is a new key, a new user data, a new instance.
resource "aws_s3_object" "ingestor_binary" {
  bucket       = aws_s3_bucket.events.id
  key          = "${var.artifact_prefix}ingestor-${filesha256(var.ingestor_binary_path)}"
  source       = var.ingestor_binary_path
  source_hash  = filemd5(var.ingestor_binary_path)
  content_type = "application/octet-stream"
}

locals {
  consumer_unit = file("${path.module}/../systemd/ingestor-consumer.service")
  consumer_user_data = templatefile("${path.module}/templates/consumer-cloud-init.yaml.tftpl", {
    region           = var.region
    bucket           = aws_s3_bucket.events.id
    binary_key       = aws_s3_object.ingestor_binary.key
    binary_sha256    = filesha256(var.ingestor_binary_path)
    consumer_port    = var.consumer_port
    workers          = var.consumer_workers
    secret_parameter = var.secret_ssm_parameter_name
    systemd_unit     = local.consumer_unit
    s3_endpoint      = "https://s3.${var.region}.amazonaws.com"
  })
}

# ---- instance profile: s3:GetObject on the bucket, the secret, Session Manager -----------------
data "aws_iam_policy_document" "ec2_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "consumer" {
  name               = "${var.name}-consumer"
  assume_role_policy = data.aws_iam_policy_document.ec2_assume.json
}

data "aws_iam_policy_document" "consumer" {
  statement {
    sid       = "DownloadObjects"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.events.arn}/*"]
  }

  statement {
    sid       = "ReadSharedSecret"
    actions   = ["ssm:GetParameter"]
    resources = [local.secret_parameter_arn]
  }

  dynamic "statement" {
    for_each = var.secret_kms_key_arn != null ? [var.secret_kms_key_arn] : []
    content {
      sid       = "DecryptSharedSecret"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "consumer" {
  name   = "${var.name}-consumer"
  role   = aws_iam_role.consumer.id
  policy = data.aws_iam_policy_document.consumer.json
}

# AWS-managed: what SSM Agent needs for Session Manager (replaces an SSH key and a bastion).
resource "aws_iam_role_policy_attachment" "consumer_ssm" {
  role       = aws_iam_role.consumer.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_instance_profile" "consumer" {
  name = "${var.name}-consumer"
  role = aws_iam_role.consumer.name
}

# ---- security group: the consumer port from the relay's security group, nothing else in ------
resource "aws_security_group" "consumer" {
  name        = "${var.name}-consumer"
  description = "Consumer: inbound only from the relay Lambda on the consumer port; outbound HTTPS to S3 and SSM"
  vpc_id      = local.vpc_id
  tags        = { Name = "${var.name}-consumer" }
}

resource "aws_vpc_security_group_ingress_rule" "consumer_from_relay" {
  security_group_id            = aws_security_group.consumer.id
  description                  = "POST /objects from the relay Lambda"
  ip_protocol                  = "tcp"
  from_port                    = var.consumer_port
  to_port                      = var.consumer_port
  referenced_security_group_id = aws_security_group.relay.id
}

data "aws_ec2_managed_prefix_list" "s3" {
  name = "com.amazonaws.${var.region}.s3"
}

resource "aws_vpc_security_group_egress_rule" "consumer_to_s3" {
  security_group_id = aws_security_group.consumer.id
  description       = "HTTPS to S3 through the gateway endpoint"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = data.aws_ec2_managed_prefix_list.s3.id
}

resource "aws_vpc_security_group_egress_rule" "consumer_to_endpoints" {
  count                        = local.create_ssm_endpoints ? 1 : 0
  security_group_id            = aws_security_group.consumer.id
  description                  = "HTTPS to the SSM interface endpoints (Session Manager, secret)"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.endpoints[0].id
}

# ---- instance ----------------------------------------------------------------------------------
resource "aws_instance" "consumer" {
  ami                         = data.aws_ssm_parameter.al2023_ami.value
  instance_type               = var.consumer_instance_type
  subnet_id                   = local.private_subnet_ids[0]
  vpc_security_group_ids      = [aws_security_group.consumer.id]
  iam_instance_profile        = aws_iam_instance_profile.consumer.name
  associate_public_ip_address = false
  user_data                   = local.consumer_user_data
  user_data_replace_on_change = true
  # No key_name: shell access is `aws ssm start-session --target <instance id>`.

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required" # IMDSv2 only
    http_put_response_hop_limit = 1
  }

  root_block_device {
    volume_type = "gp3"
    volume_size = var.consumer_volume_gb
    encrypted   = true
  }

  tags = { Name = "${var.name}-consumer" }

  lifecycle {
    # A newer AL2023 image is picked up by replacing the instance on purpose (-replace), not on
    # every plan after AWS publishes one.
    ignore_changes = [ami]
  }

  depends_on = [
    aws_vpc_endpoint_route_table_association.s3,
    aws_vpc_endpoint.ssm,
    aws_iam_role_policy.consumer,
  ]
}
